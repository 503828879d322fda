package ports

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"bilat.dev/services/ingest/internal/app"
)

var metricSubmissions = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "bilat_ingest_submissions_total",
	Help: "Submitted records by door (grpc, import, jetstream), record type and outcome (accepted, duplicate, rejected, failed).",
}, []string{"door", "type", "outcome"})

func observe(door, recordType string, res app.Result, err error) {
	outcome := "accepted"
	var v *app.ValidationError
	switch {
	case errors.As(err, &v):
		outcome = "rejected"
	case err != nil:
		outcome = "failed"
	case res.Duplicate:
		outcome = "duplicate"
	}
	metricSubmissions.WithLabelValues(door, recordType, outcome).Inc()
}
