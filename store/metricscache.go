package store

import (
	"slices"
	"sync"
	"time"
)

// DefaultMetricsMaxAge is how long Store.Metrics keeps a team's figures
// when nothing changes them through this store.
const DefaultMetricsMaxAge = 30 * time.Second

// SetMetricsMaxAge sets how long Metrics keeps a team's figures; 0 or less
// computes them on every call.
func (s *Store) SetMetricsMaxAge(d time.Duration) {
	s.metrics.mu.Lock()
	defer s.metrics.mu.Unlock()
	s.metrics.maxAge = d
}

// metricsCache keeps each team's last figures with the time they were
// computed and the store's count of committed writes at that time.
type metricsCache struct {
	mu     sync.Mutex
	maxAge time.Duration
	teams  map[int64]*teamFigures
}

// teamFigures are a team's cached figures; mu is held while they are
// computed, so that concurrent callers wait for one computation.
type teamFigures struct {
	mu     sync.Mutex
	at     time.Time
	writes uint64
	values []MetricValue
}

// get returns the cached figures of a team when they were computed less
// than the max age before now (by the store's clock) and no write was
// committed since; otherwise it computes them with compute and keeps them.
// writes is the store's count of committed writes, read before compute
// runs, so that a write committed during the computation invalidates it.
func (c *metricsCache) get(team int64, now time.Time, writes uint64, compute func() ([]MetricValue, error)) ([]MetricValue, error) {
	c.mu.Lock()
	maxAge := c.maxAge
	e := c.teams[team]
	if e == nil {
		if c.teams == nil {
			c.teams = map[int64]*teamFigures{}
		}
		e = &teamFigures{}
		c.teams[team] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.values != nil && e.writes == writes && !now.Before(e.at) && now.Sub(e.at) < maxAge {
		return slices.Clone(e.values), nil
	}
	values, err := compute()
	if err != nil {
		return nil, err
	}
	e.at, e.writes, e.values = now, writes, values
	return slices.Clone(values), nil
}
