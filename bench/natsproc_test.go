package main

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestNATSProcess starts the NATS server as its own process (-nats-process),
// stores a message with JetStream, reads the process's CPU time and peak
// RSS as the report does, and stops it.
func TestNATSProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, nc, err := startNATS(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SMOKE", Subjects: []string{"smoke.>"}}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	ack, err := js.Publish(ctx, "smoke.1", []byte("x"))
	if err != nil || ack.Sequence != 1 {
		t.Fatalf("publish: ack %+v, err %v", ack, err)
	}
	// CPU time counts in 10 ms ticks, which a fast machine may not have
	// spent yet: store more until the server has (a bound, not a speed).
	pid := p.cmd.Process.Pid
	for i := 0; procCPU(pid) <= 0 && i < 20_000; i++ {
		if _, err := js.Publish(ctx, "smoke.2", []byte("x")); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	if procCPU(pid) <= 0 {
		t.Errorf("no CPU time read for the NATS process %d after 20,000 publishes", pid)
	}
	if vmHWM(pid) <= 0 {
		t.Errorf("no peak RSS read for the NATS process %d", pid)
	}
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	default:
		t.Fatal("the NATS process is still running after stop")
	}
	if p.peakRSS <= 0 {
		t.Error("stop did not sample the peak RSS")
	}
}
