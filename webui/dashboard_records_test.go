package webui

import (
	"testing"

	"github.com/violet-mlsecops/violet/store"
)

// TestEveryMetricHasRecords: the dashboard links every metric to the page
// of the records behind it.
func TestEveryMetricHasRecords(t *testing.T) {
	for _, d := range store.MetricDefs {
		if metricRecords[d.Name] == "" {
			t.Errorf("metric %s: no page of records in metricRecords", d.Name)
		}
	}
	if len(metricRecords) != len(store.MetricDefs) {
		t.Errorf("metricRecords names %d metrics, MetricDefs has %d", len(metricRecords), len(store.MetricDefs))
	}
}
