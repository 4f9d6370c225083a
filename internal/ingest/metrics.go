package ingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the ingestion figures /metrics exposes: the ingest rate by
// outcome, commit latency, group size and queue depth. A nil *Metrics
// records nothing.
type Metrics struct {
	events        *prometheus.CounterVec
	commitSeconds prometheus.Histogram
	batch         prometheus.Histogram
	queueDepth    prometheus.Gauge
	overloads     prometheus.Counter
}

// NewMetrics registers the ingestion collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kizuna_ingest_events_total",
			Help: "Messages received on the tracking API, by outcome (accepted, duplicate, conflict, invalid, error).",
		}, []string{"outcome"}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kizuna_ingest_commit_seconds",
			Help:    "Time to store one group of messages, transaction included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kizuna_ingest_group_messages",
			Help:    "Messages stored per group-commit transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kizuna_ingest_queue_depth",
			Help: "Messages waiting for, or in, a group-commit transaction.",
		}),
		overloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kizuna_ingest_overload_total",
			Help: "Requests refused with 503 because the ingestion queue was full.",
		}),
	}
	reg.MustRegister(m.events, m.commitSeconds, m.batch, m.queueDepth, m.overloads)
	return m
}

func (m *Metrics) commitDone(d time.Duration, n int) {
	if m == nil {
		return
	}
	m.commitSeconds.Observe(d.Seconds())
	m.batch.Observe(float64(n))
}

func (m *Metrics) commit(d time.Duration, items []item) {
	if m == nil {
		return
	}
	m.commitDone(d, len(items))
	for _, it := range items {
		r := it.result()
		switch {
		case r.Duplicate:
			m.events.WithLabelValues(outcomeReplay).Inc()
		case r.Status == StatusAccepted:
			m.events.WithLabelValues(outcomeAccepted).Inc()
		case r.Status == StatusConflict:
			m.events.WithLabelValues(outcomeConflict).Inc()
		default:
			m.events.WithLabelValues(outcomeError).Inc()
		}
	}
}

func (m *Metrics) invalid(n int) {
	if m == nil || n == 0 {
		return
	}
	m.events.WithLabelValues(outcomeInvalid).Add(float64(n))
}

func (m *Metrics) queue(depth int64) {
	if m == nil {
		return
	}
	m.queueDepth.Set(float64(depth))
}

func (m *Metrics) overload() {
	if m == nil {
		return
	}
	m.overloads.Inc()
}
