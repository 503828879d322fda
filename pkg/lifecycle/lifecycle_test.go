package lifecycle_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/lifecycle"
	"bilat.dev/pkg/testenv"
)

type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }

type drainer struct {
	name string
	rec  *recorder
	conn *grpc.ClientConn
}

// Stop checks that gRPC still answers while consumers drain.
func (d drainer) Stop(ctx context.Context) {
	_, err := healthpb.NewHealthClient(d.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		d.rec.add(d.name + " drained while grpc up")
	} else {
		d.rec.add(d.name + " drained after grpc stopped")
	}
}

func TestShutdownOrder(t *testing.T) {
	lis, err := lifecycle.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- lifecycle.Run(ctx, lifecycle.Service{
			Log: testenv.Logger(t), GRPC: grpcx.NewServer(testenv.Logger(t)), Listener: lis,
			HTTPAddr: "127.0.0.1:0",
			Drain:    []lifecycle.Drainer{drainer{"first", rec, conn}, drainer{"second", rec, conn}},
		})
	}()
	testenv.Eventually(t, 5*time.Second, "grpc up", func() bool {
		_, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		return err == nil
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	want := []string{"first drained while grpc up", "second drained while grpc up"}
	if len(rec.events) != 2 || rec.events[0] != want[0] || rec.events[1] != want[1] {
		t.Fatalf("events %q, want %q", rec.events, want)
	}
}

func TestListenTaken(t *testing.T) {
	lis, err := lifecycle.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	if _, err := lifecycle.Listen(lis.Addr().String()); err == nil {
		t.Fatal("a taken port was accepted")
	}
}
