package natsx

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricPublished = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "bilat_jetstream_published_total",
		Help: "Messages published to JetStream, by stream and whether the stream deduplicated them.",
	}, []string{"stream", "duplicate"})
	metricHandled = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "bilat_jetstream_handled_total",
		Help: "Messages handled by a consumer, by stage and outcome (acked, retried, dead_lettered).",
	}, []string{"stage", "outcome"})
	metricHandleSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bilat_jetstream_handle_seconds",
		Help:    "Time to handle one message, ack included.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"stage"})
)
