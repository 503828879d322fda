package ports

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
	"bilat.dev/services/ingest/internal/adapters"
	"bilat.dev/services/ingest/internal/app"
	"bilat.dev/services/ingest/internal/domain"
)

// stack is ingest wired as in main: real NATS, the KV store, the gRPC
// server on a loopback listener and the JetStream door consumer.
type stack struct {
	nats   *testenv.NATSServer
	client bilatv1.IngestServiceClient
}

func startStack(t *testing.T, streams natsx.StreamsConfig, opts app.Options) *stack {
	t.Helper()
	n := testenv.NATS(t)
	n.EnsureStreams(t, streams)
	log := testenv.Logger(t)
	ctx, cancel := context.WithCancel(context.Background())

	kv, err := adapters.OpenIdempotencyKV(ctx, n.JS, log)
	if err != nil {
		t.Fatal(err)
	}
	svc := app.New(adapters.NewEventPublisher(n.JS), kv, log, opts)

	srv := grpcx.NewServer(log, grpcx.NATSCheck(n.Conn))
	bilatv1.RegisterIngestServiceServer(srv.GRPC(), NewIngestServer(svc, log))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeListener(ctx, lis) }()

	door := NewDoor(svc, log)
	cfg := DoorConsumerConfig()
	cfg.HandleBatch = door.HandleBatch
	cons, err := natsx.Consume(ctx, n.JS, cfg, door.Handle, log)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		cons.Stop(stopCtx)
		_ = conn.Close()
		cancel()
		if err := <-served; err != nil {
			t.Errorf("grpc serve: %v", err)
		}
	})
	return &stack{nats: n, client: bilatv1.NewIngestServiceClient(conn)}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sampleAgreement(title string) *bilatv1.Agreement {
	return &bilatv1.Agreement{
		Title:    title,
		Kind:     bilatv1.AgreementKind_AGREEMENT_KIND_AGREEMENT,
		Status:   bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED,
		Partner:  &bilatv1.EntityRef{Name: "Georgia"},
		SignedOn: &bilatv1.PartialDate{Year: 2017, Month: 5, Day: 12},
		Domains:  []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_ECONOMIC},
		Value:    &bilatv1.Money{Currency: "USD", Units: 2_000_000},
		Attributes: map[string]string{
			"book_row": "17", "chapter": "4", "page": "211", "source_lang": "ru",
		},
	}
}

func sampleFigure(units int64) *bilatv1.TradeFigure {
	return &bilatv1.TradeFigure{
		Reporter: &bilatv1.EntityRef{Name: "Belarus"},
		Partner:  &bilatv1.EntityRef{Name: "Afghanistan"},
		Period:   &bilatv1.Period{Year: 2018, FirstMonth: 1, LastMonth: 7},
		Flow:     bilatv1.TradeFlow_TRADE_FLOW_TURNOVER,
		Value:    &bilatv1.Money{Currency: "USD", Units: units},
	}
}

// eventMsgs returns every message stored in BILAT_EVENTS.
func eventMsgs(t *testing.T, n *testenv.NATSServer) []*jetstream.RawStreamMsg {
	t.Helper()
	return streamMsgs(t, n, natsx.StreamEvents)
}

func streamMsgs(t *testing.T, n *testenv.NATSServer, name string) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := ctxT(t)
	s, err := n.JS.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get %s #%d: %v", name, seq, err)
		}
		out = append(out, m)
	}
	return out
}

func decodeAgreementEvent(t *testing.T, m *jetstream.RawStreamMsg) *bilatv1.AgreementRecorded {
	t.Helper()
	if m.Subject != natsx.SubjectEventAgreement {
		t.Fatalf("event subject %s", m.Subject)
	}
	var ev bilatv1.AgreementRecorded
	if err := proto.Unmarshal(m.Data, &ev); err != nil {
		t.Fatal(err)
	}
	return &ev
}

// (a) A gRPC submission lands on BILAT_EVENTS with Nats-Msg-Id = event id,
// the event type and the caller's trace context.
func TestSubmitPublishesEvent(t *testing.T) {
	s := startStack(t, natsx.StreamsConfig{}, app.Options{})
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "traceparent", tp, "tracestate", "rojo=00f067aa0ba902b7")
	in := sampleAgreement("  Agreement on  trade ")
	in.Id = "ge-2017-trade"
	resp, err := s.client.SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: in})
	if err != nil {
		t.Fatal(err)
	}
	res := resp.GetResult()
	if res.GetDuplicate() || res.GetRecordId() != "ge-2017-trade" || !strings.HasPrefix(res.GetEventId(), "evt-") || len(res.GetEventId()) != 36 {
		t.Fatalf("result %v", res)
	}

	msgs := eventMsgs(t, s.nats)
	if len(msgs) != 1 {
		t.Fatalf("%d events, want 1", len(msgs))
	}
	m := msgs[0]
	if got := m.Header.Get(natsx.HeaderMsgID); got != res.GetEventId() {
		t.Fatalf("Nats-Msg-Id %q, want %q", got, res.GetEventId())
	}
	if got := m.Header.Get(natsx.HeaderEventType); got != "bilat.v1.AgreementRecorded" {
		t.Fatalf("event type header %q", got)
	}
	if m.Header.Get(natsx.HeaderTraceparent) != tp || m.Header.Get(natsx.HeaderTracestate) != "rojo=00f067aa0ba902b7" {
		t.Fatalf("trace headers %v", m.Header)
	}
	ev := decodeAgreementEvent(t, m)
	env := ev.GetEnvelope()
	if env.GetEventId() != res.GetEventId() || env.GetTraceparent() != tp || !strings.HasPrefix(env.GetSource(), "grpc:127.0.0.1:") ||
		!strings.HasPrefix(env.GetIdempotencyKey(), "agreement:") || env.GetRecordedAt() == nil || env.GetOccurredAt() == nil {
		t.Fatalf("envelope %v", env)
	}
	if ev.GetAgreement().GetTitle() != "Agreement on trade" || ev.GetAgreement().GetId() != "ge-2017-trade" {
		t.Fatalf("agreement %v", ev.GetAgreement())
	}

	// The key is durable in the bucket, mapped to the event id.
	kv, err := s.nats.JS.KeyValue(ctx, natsx.BucketIdempotency)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, domain.KeyHash(env.GetIdempotencyKey()))
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Value()) != res.GetEventId() {
		t.Fatalf("bucket holds %q", e.Value())
	}

	// Trade figures go to their own subject.
	tr, err := s.client.SubmitTradeFigure(ctx, &bilatv1.SubmitTradeFigureRequest{Figure: sampleFigure(31_200_000)})
	if err != nil {
		t.Fatal(err)
	}
	msgs = eventMsgs(t, s.nats)
	if len(msgs) != 2 || msgs[1].Subject != natsx.SubjectEventTrade || msgs[1].Header.Get(natsx.HeaderMsgID) != tr.GetResult().GetEventId() ||
		msgs[1].Header.Get(natsx.HeaderEventType) != "bilat.v1.TradeFigureRecorded" {
		t.Fatalf("trade event: %d msgs, last %+v", len(msgs), msgs[len(msgs)-1])
	}
	if !strings.HasPrefix(tr.GetResult().GetRecordId(), "trd-") {
		t.Fatalf("trade record id %q", tr.GetResult().GetRecordId())
	}
}

// (b) The same submission three times is recorded once.
func TestSubmitThreeTimesRecordsOnce(t *testing.T) {
	s := startStack(t, natsx.StreamsConfig{}, app.Options{})
	ctx := ctxT(t)
	var results []*bilatv1.SubmitResult
	for range 3 {
		resp, err := s.client.SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: sampleAgreement("Agreement on trade")})
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, resp.GetResult())
	}
	if results[0].GetDuplicate() || !results[1].GetDuplicate() || !results[2].GetDuplicate() {
		t.Fatalf("duplicate flags %v", results)
	}
	for _, r := range results[1:] {
		if r.GetEventId() != results[0].GetEventId() || r.GetRecordId() != results[0].GetRecordId() {
			t.Fatalf("results differ: %v", results)
		}
	}
	if got := s.nats.StreamMsgs(t, natsx.StreamEvents); got != 1 {
		t.Fatalf("%d events, want 1", got)
	}
}

// (c) A resubmission after the stream's duplicate window is still a no-op:
// the idempotency bucket remembers the key.
func TestDuplicateAfterDedupWindow(t *testing.T) {
	s := startStack(t, natsx.StreamsConfig{DuplicateWindow: time.Second}, app.Options{})
	ctx := ctxT(t)
	req := &bilatv1.SubmitTradeFigureRequest{Figure: sampleFigure(5_000_000), IdempotencyKey: "report-2018/table-3/row-2"}
	first, err := s.client.SubmitTradeFigure(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	again, err := s.client.SubmitTradeFigure(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !again.GetResult().GetDuplicate() || again.GetResult().GetEventId() != first.GetResult().GetEventId() {
		t.Fatalf("first %v, again %v", first.GetResult(), again.GetResult())
	}
	if got := s.nats.StreamMsgs(t, natsx.StreamEvents); got != 1 {
		t.Fatalf("%d events, want 1", got)
	}
	// Prove the stream had forgotten the id, i.e. only the bucket caught it.
	testenv.Eventually(t, 10*time.Second, "the stream to forget the message id", func() bool {
		ack, err := s.nats.JS.Publish(ctx, natsx.SubjectEventTrade, []byte("probe"), jetstream.WithMsgID(first.GetResult().GetEventId()))
		if err != nil {
			t.Fatal(err)
		}
		return !ack.Duplicate
	})
}

// (d) Raw publishes in protojson and protobuf are each recorded once; the
// same content through the raw door and gRPC counts once; CloudEvents
// headers are honoured.
func TestRawDoor(t *testing.T) {
	s := startStack(t, natsx.StreamsConfig{}, app.Options{})
	ctx := ctxT(t)

	jsonAgr := sampleAgreement("Memorandum on science")
	jsonBody, err := protojson.Marshal(jsonAgr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.nats.JS.Publish(ctx, natsx.SubjectIngestAgreement, jsonBody); err != nil {
		t.Fatal(err)
	}
	binAgr := sampleAgreement("Programme of cultural cooperation")
	binBody, err := proto.Marshal(binAgr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.nats.JS.Publish(ctx, natsx.SubjectIngestAgreement, binBody); err != nil {
		t.Fatal(err)
	}
	figBody, err := protojson.Marshal(sampleFigure(7))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.nats.JS.PublishMsg(ctx, &nats.Msg{Subject: natsx.SubjectIngestTrade, Data: figBody, Header: nats.Header{"Content-Type": {"application/json"}}}); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, s, 3)
	// Workers record different records in any order: sort them out by subject.
	var agreements []*jetstream.RawStreamMsg
	for _, m := range eventMsgs(t, s.nats) {
		if m.Subject == natsx.SubjectEventAgreement {
			agreements = append(agreements, m)
		}
	}
	if len(agreements) != 2 {
		t.Fatalf("%d agreement events, want 2", len(agreements))
	}
	titles := []string{decodeAgreementEvent(t, agreements[0]).GetAgreement().GetTitle(), decodeAgreementEvent(t, agreements[1]).GetAgreement().GetTitle()}
	slices.Sort(titles)
	if !slices.Equal(titles, []string{"Memorandum on science", "Programme of cultural cooperation"}) {
		t.Fatalf("titles %v", titles)
	}
	for _, m := range agreements {
		ev := decodeAgreementEvent(t, m)
		if !strings.HasPrefix(ev.GetEnvelope().GetSource(), "jetstream:bilat.ingest.agreement") || m.Header.Get(natsx.HeaderMsgID) != ev.GetEnvelope().GetEventId() {
			t.Fatalf("raw event %v / %v", ev.GetEnvelope(), m.Header)
		}
	}

	// The protojson content again through gRPC: same key, nothing new.
	resp, err := s.client.SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: jsonAgr})
	if err != nil {
		t.Fatal(err)
	}
	var rawID string
	for _, m := range agreements {
		if ev := decodeAgreementEvent(t, m); ev.GetAgreement().GetTitle() == "Memorandum on science" {
			rawID = ev.GetEnvelope().GetEventId()
		}
	}
	if !resp.GetResult().GetDuplicate() || resp.GetResult().GetEventId() != rawID {
		t.Fatalf("gRPC after raw: %v, raw event id %s", resp.GetResult(), rawID)
	}
	// And a gRPC submission first, then the same protobuf content raw.
	grpcFirst := sampleAgreement("Roadmap on tourism")
	if _, err := s.client.SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: grpcFirst}); err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(grpcFirst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.nats.JS.Publish(ctx, natsx.SubjectIngestAgreement, b); err != nil {
		t.Fatal(err)
	}
	waitDoorIdle(t, s)
	if got := s.nats.StreamMsgs(t, natsx.StreamEvents); got != 4 {
		t.Fatalf("%d events, want 4", got)
	}

	// ce-id is the idempotency key: a second message with the same ce-id
	// (even with other content) is a duplicate; ce-time is occurred_at.
	for i, hdr := range []nats.Header{
		{"ce-id": {"bulletin-42"}, "ce-time": {"2018-04-05T10:00:00Z"}, "traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
		{"ce-id": {"bulletin-42"}},
		{"ce_id": {"bulletin-42"}},
	} {
		body, err := protojson.Marshal(sampleAgreement(fmt.Sprintf("Agreement %d on customs", i)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.nats.JS.PublishMsg(ctx, &nats.Msg{Subject: natsx.SubjectIngestAgreement, Data: body, Header: hdr}); err != nil {
			t.Fatal(err)
		}
	}
	waitDoorIdle(t, s)
	msgs := eventMsgs(t, s.nats)
	if len(msgs) != 5 {
		t.Fatalf("%d events, want 5", len(msgs))
	}
	ev := decodeAgreementEvent(t, msgs[4])
	env := ev.GetEnvelope()
	if env.GetIdempotencyKey() != "agreement:bulletin-42" || env.GetEventId() != domain.EventID("agreement:bulletin-42") ||
		!env.GetOccurredAt().AsTime().Equal(time.Date(2018, 4, 5, 10, 0, 0, 0, time.UTC)) ||
		msgs[4].Header.Get(natsx.HeaderTraceparent) != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" ||
		ev.GetAgreement().GetTitle() != "Agreement 0 on customs" {
		t.Fatalf("ce event %v", ev)
	}
	// The same key through gRPC is the same submission.
	resp, err = s.client.SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: sampleAgreement("x"), IdempotencyKey: "bulletin-42"})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetResult().GetDuplicate() || resp.GetResult().GetEventId() != env.GetEventId() {
		t.Fatalf("gRPC with the ce-id as key: %v", resp.GetResult())
	}
	if dl := s.nats.StreamMsgs(t, natsx.StreamDLQ); dl != 0 {
		t.Fatalf("%d dead letters, want 0", dl)
	}
}

// (e) Invalid, undecodable and misrouted raw messages are dead-lettered
// with a reason naming the problem, and nothing stays pending.
func TestRawDoorDeadLetters(t *testing.T) {
	s := startStack(t, natsx.StreamsConfig{}, app.Options{})
	ctx := ctxT(t)

	bad := sampleAgreement("Agreement on trade")
	bad.SignedOn = &bilatv1.PartialDate{Year: 2019, Month: 2, Day: 29}
	bad.Partner.Code = "GE"
	badBody, err := protojson.Marshal(bad)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		subject string
		body    []byte
		hdr     nats.Header
		reason  []string
	}{
		{natsx.SubjectIngestAgreement, badBody, nats.Header{"Nats-Msg-Id": {"bad-1"}}, []string{"agreement.signed_on.day", "agreement.partner.code: set by enrichment"}},
		{natsx.SubjectIngestTrade, []byte(`{"reporter":{"name":"Belarus"},"partner":{"name":"China"},"period":{"year":2018},"flow":"TRADE_FLOW_EXPORTS","value":{"currency":"USD","units":"-5"}}`), nil, []string{"trade_figure.value: must not be negative"}},
		{natsx.SubjectIngestTrade, []byte(`{"reporter":{"name":"Belarus"},"colour":"red"}`), nil, []string{"undecodable trade figure", "colour"}},
		{natsx.SubjectIngestAgreement, []byte{0xff, 0xff}, nil, []string{"undecodable agreement", "protobuf"}},
		{"bilat.ingest.treaty", []byte(`{}`), nil, []string{"unknown subject bilat.ingest.treaty"}},
		{natsx.SubjectIngestAgreement, mustJSON(t, sampleAgreement("Fine")), nats.Header{"ce-time": {"last tuesday"}}, []string{"ce-time"}},
	}
	for _, c := range cases {
		if _, err := s.nats.JS.PublishMsg(ctx, &nats.Msg{Subject: c.subject, Data: c.body, Header: c.hdr}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 15*time.Second, "dead letters", func() bool {
		return s.nats.StreamMsgs(t, natsx.StreamDLQ) == uint64(len(cases))
	})
	waitDoorIdle(t, s)
	// Workers dead-letter in any order: match each by its origin sequence
	// (the cases were published in order, as sequences 1..n).
	dlq := streamMsgs(t, s.nats, natsx.StreamDLQ)
	for _, m := range dlq {
		seq, err := strconv.Atoi(m.Header.Get(natsx.HeaderDLQSequence))
		if err != nil || seq < 1 || seq > len(cases) {
			t.Fatalf("dead letter with origin sequence %q", m.Header.Get(natsx.HeaderDLQSequence))
		}
		i := seq - 1
		c := cases[i]
		if m.Subject != natsx.SubjectDLQ("ingest") || m.Header.Get(natsx.HeaderDLQSubject) != c.subject || m.Header.Get(natsx.HeaderDLQStage) != "ingest" {
			t.Errorf("dead letter %d: subject %s headers %v", i, m.Subject, m.Header)
		}
		reason := m.Header.Get(natsx.HeaderDLQReason)
		for _, want := range c.reason {
			if !strings.Contains(reason, want) {
				t.Errorf("dead letter %d reason %q does not mention %q", i, reason, want)
			}
		}
		if string(m.Data) != string(c.body) {
			t.Errorf("dead letter %d body changed", i)
		}
	}
	if got := s.nats.StreamMsgs(t, natsx.StreamEvents); got != 0 {
		t.Fatalf("%d events from invalid input", got)
	}
}

func mustJSON(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitDoorIdle waits until the door consumer has handled everything.
func waitDoorIdle(t *testing.T, s *stack) {
	t.Helper()
	s.nats.WaitConsumed(t, natsx.StreamIngest, "ingest", 15*time.Second)
}

func waitEvents(t *testing.T, s *stack, n uint64) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, fmt.Sprintf("%d events", n), func() bool {
		return s.nats.StreamMsgs(t, natsx.StreamEvents) >= n
	})
	waitDoorIdle(t, s)
	if got := s.nats.StreamMsgs(t, natsx.StreamEvents); got != n {
		t.Fatalf("%d events, want %d", got, n)
	}
}

// (f) Import records valid items, rejects invalid ones with their index
// and fields, and counts duplicates.
func TestImport(t *testing.T) {
	s := startStack(t, natsx.StreamsConfig{}, app.Options{})
	ctx := ctxT(t)
	badAgr := sampleAgreement("")
	badAgr.Kind = 0
	badFig := sampleFigure(1)
	badFig.Period.Year = 1850
	items := []*bilatv1.ImportRequest{
		{Item: &bilatv1.ImportRequest_Agreement{Agreement: sampleAgreement("Agreement on trade")}},   // 0 accepted
		{Item: &bilatv1.ImportRequest_Agreement{Agreement: badAgr}},                                  // 1 rejected
		{Item: &bilatv1.ImportRequest_TradeFigure{TradeFigure: sampleFigure(100)}},                   // 2 accepted
		{Item: &bilatv1.ImportRequest_Agreement{Agreement: sampleAgreement(" Agreement  on trade")}}, // 3 duplicate of 0
		{}, // 4 rejected: no item
		{Item: &bilatv1.ImportRequest_TradeFigure{TradeFigure: badFig}},                                                     // 5 rejected
		{Item: &bilatv1.ImportRequest_TradeFigure{TradeFigure: sampleFigure(200)}, IdempotencyKey: "row-9"},                 // 6 accepted
		{Item: &bilatv1.ImportRequest_TradeFigure{TradeFigure: sampleFigure(300)}, IdempotencyKey: "row-9"},                 // 7 duplicate (same key)
		{Item: &bilatv1.ImportRequest_Agreement{Agreement: sampleAgreement("Agreement on trade")}, IdempotencyKey: "row-9"}, // 8 accepted (other type)
	}
	stream, err := s.client.Import(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := stream.Send(it); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetAccepted() != 4 || resp.GetDuplicates() != 2 || resp.GetRejected() != 3 {
		t.Fatalf("counts: accepted %d duplicates %d rejected %d", resp.GetAccepted(), resp.GetDuplicates(), resp.GetRejected())
	}
	want := map[int64][]string{
		1: {"agreement.title", "agreement.kind"},
		4: {"item"},
		5: {"trade_figure.period.year"},
	}
	if len(resp.GetRejections()) != len(want) {
		t.Fatalf("rejections %v", resp.GetRejections())
	}
	for _, r := range resp.GetRejections() {
		var fields []string
		for _, fe := range r.GetFieldErrors() {
			fields = append(fields, fe.GetField())
		}
		if !slices.Equal(fields, want[r.GetIndex()]) || r.GetReason() == "" {
			t.Errorf("rejection %d: fields %v reason %q, want fields %v", r.GetIndex(), fields, r.GetReason(), want[r.GetIndex()])
		}
	}
	if got := s.nats.StreamMsgs(t, natsx.StreamEvents); got != 4 {
		t.Fatalf("%d events, want 4", got)
	}
}

// Import keeps counting beyond the rejection list's cap, and handles items
// as they arrive (a valid item is durable before the stream ends).
func TestImportStreamsAndCapsRejections(t *testing.T) {
	s := startStack(t, natsx.StreamsConfig{}, app.Options{})
	ctx := ctxT(t)
	stream, err := s.client.Import(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&bilatv1.ImportRequest{Item: &bilatv1.ImportRequest_TradeFigure{TradeFigure: sampleFigure(1)}}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 15*time.Second, "the first item to be recorded before the stream ends", func() bool {
		return s.nats.StreamMsgs(t, natsx.StreamEvents) == 1
	})
	const invalid = MaxRejections + 5
	for range invalid {
		if err := stream.Send(&bilatv1.ImportRequest{Item: &bilatv1.ImportRequest_Agreement{Agreement: &bilatv1.Agreement{}}}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetAccepted() != 1 || resp.GetRejected() != invalid || len(resp.GetRejections()) != MaxRejections {
		t.Fatalf("accepted %d rejected %d listed %d", resp.GetAccepted(), resp.GetRejected(), len(resp.GetRejections()))
	}
	if r := resp.GetRejections()[MaxRejections-1]; r.GetIndex() != MaxRejections {
		t.Fatalf("last listed rejection has index %d", r.GetIndex())
	}
}

// (g) InvalidArgument carries a BadRequest detail naming every bad field.
func TestInvalidArgumentDetails(t *testing.T) {
	s := startStack(t, natsx.StreamsConfig{}, app.Options{})
	ctx := ctxT(t)
	bad := sampleAgreement("")
	bad.Kind = 42
	bad.Domains = []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_TRADE}
	bad.Value.Currency = "dollars"
	bad.Revision = 3
	_, err := s.client.SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: bad, IdempotencyKey: strings.Repeat("k", 600)})
	checkBadRequest(t, err, []string{"agreement.title", "agreement.kind", "agreement.domains[1]", "agreement.value.currency", "agreement.revision", "idempotency_key"})

	fig := sampleFigure(1)
	fig.Reporter = nil
	fig.Period.FirstMonth = 9
	fig.Flow = 0
	_, err = s.client.SubmitTradeFigure(ctx, &bilatv1.SubmitTradeFigureRequest{Figure: fig})
	checkBadRequest(t, err, []string{"figure.reporter.name", "figure.period.last_month", "figure.flow"})

	_, err = s.client.SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{})
	checkBadRequest(t, err, []string{"agreement"})

	if got := s.nats.StreamMsgs(t, natsx.StreamEvents); got != 0 {
		t.Fatalf("%d events from invalid submissions", got)
	}
}

func checkBadRequest(t *testing.T, err error, fields []string) {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("code %v (%v), want InvalidArgument", status.Code(err), err)
	}
	var got []string
	for _, v := range grpcx.FieldViolations(err) {
		if v.Description == "" {
			t.Errorf("violation of %s has no description", v.Field)
		}
		got = append(got, v.Field)
	}
	if !slices.Equal(got, fields) {
		t.Fatalf("violations %v, want %v", got, fields)
	}
}

// Without NATS a submission fails with Unavailable within the service's
// timeout, and works again once NATS is back.
func TestUnavailableWhileNATSDown(t *testing.T) {
	s := startStack(t, natsx.StreamsConfig{}, app.Options{Timeout: time.Second})
	ctx := ctxT(t)
	s.nats.Server.Shutdown()
	s.nats.Server.WaitForShutdown()
	_, err := s.client.SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: sampleAgreement("Agreement on trade")})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("code %v (%v), want Unavailable", status.Code(err), err)
	}

	stream, err := s.client.Import(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&bilatv1.ImportRequest{Item: &bilatv1.ImportRequest_TradeFigure{TradeFigure: sampleFigure(1)}}); err != nil {
		t.Fatal(err)
	}
	_, err = stream.CloseAndRecv()
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "import item 0") {
		t.Fatalf("import: %v, want Unavailable naming item 0", err)
	}

	s.nats.Restart(t)
	testenv.Eventually(t, 15*time.Second, "a submission to succeed after NATS restarts", func() bool {
		_, err := s.client.SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: sampleAgreement("Agreement on trade")})
		return err == nil
	})
	if got := s.nats.StreamMsgs(t, natsx.StreamEvents); got != 1 {
		t.Fatalf("%d events, want 1", got)
	}
}
