package server

import (
	"sync"
	"time"
)

// maxBuckets bounds the memory of a limiter: past it, the buckets are
// dropped and start full again (a client that fills the table by changing
// addresses gains at most one burst per address).
const maxBuckets = 10_000

// limiter is a token bucket per key.
type limiter struct {
	mu      sync.Mutex
	limit   RateLimit
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(l RateLimit, now func() time.Time) *limiter {
	if l.Every <= 0 {
		l.Every = time.Second
	}
	return &limiter{limit: l, now: now, buckets: map[string]*bucket{}}
}

// refill returns key's bucket, refilled for the time passed.
func (l *limiter) refill(key string) *bucket {
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.buckets = map[string]*bucket{}
		}
		b = &bucket{tokens: float64(l.limit.Burst), last: now}
		l.buckets[key] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(float64(l.limit.Burst), b.tokens+float64(d)/float64(l.limit.Every))
		b.last = now
	}
	return b
}

// has reports whether key has a token left, without taking it.
func (l *limiter) has(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refill(key).tokens >= 1
}

// take takes a token of key, and reports whether there was one.
func (l *limiter) take(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
