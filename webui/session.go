package webui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"sync"
	"time"
)

// session is a logged-in browser. It lives in memory only: a restart of
// the server logs everyone out.
type session struct {
	userID int64
	login  string
	// csrf is the synchronizer token every POST form of the session carries.
	csrf    string
	created time.Time
	seen    time.Time
}

// sessions is the server-side session table, bounded.
type sessions struct {
	mu      sync.Mutex
	byID    map[string]*session
	idle    time.Duration
	maxAge  time.Duration
	maxSize int
	now     func() time.Time
}

func newSessions(idle, maxAge time.Duration, maxSize int, now func() time.Time) *sessions {
	return &sessions{byID: map[string]*session{}, idle: idle, maxAge: maxAge, maxSize: maxSize, now: now}
}

// randomToken returns 32 random bytes, base64url: a session id or a CSRF
// token.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// create starts a session and returns its id; ok is false when the table
// is full of live sessions.
func (s *sessions) create(userID int64, login string) (id string, ok bool, err error) {
	if id, err = randomToken(); err != nil {
		return "", false, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", false, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= s.maxSize {
		s.pruneLocked(now)
		if len(s.byID) >= s.maxSize {
			return "", false, nil
		}
	}
	s.byID[id] = &session{userID: userID, login: login, csrf: csrf, created: now, seen: now}
	return id, true, nil
}

// get returns a copy of the live session of id and marks it used; an
// expired session is removed.
func (s *sessions) get(id string) (session, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.byID[id]
	if !ok {
		return session{}, false
	}
	if s.expired(x, now) {
		delete(s.byID, id)
		return session{}, false
	}
	x.seen = now
	return *x, true
}

// remove ends a session.
func (s *sessions) remove(id string) {
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

func (s *sessions) expired(x *session, now time.Time) bool {
	return now.Sub(x.seen) >= s.idle || now.Sub(x.created) >= s.maxAge
}

func (s *sessions) pruneLocked(now time.Time) {
	for id, x := range s.byID {
		if s.expired(x, now) {
			delete(s.byID, id)
		}
	}
}

// tokensEqual compares two tokens in constant time; empty never matches.
func tokensEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// limiter limits login attempts per client address with a token bucket:
// burst attempts at once, then one per every interval. The table is
// bounded: when it is full of clients still limited, new clients are
// refused too (fail closed) until buckets refill.
type limiter struct {
	mu       sync.Mutex
	buckets  map[string]*bucket
	burst    float64
	interval time.Duration
	maxSize  int
	now      func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(burst int, interval time.Duration, maxSize int, now func() time.Time) *limiter {
	return &limiter{buckets: map[string]*bucket{}, burst: float64(burst), interval: interval, maxSize: maxSize, now: now}
}

// clientKey is the address a limit applies to: the IP of remoteAddr, and
// for IPv6 its /64 (one host usually holds a whole /64).
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// allow takes one attempt from key's bucket; when none is left it returns
// false and how long until the next one.
func (l *limiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxSize {
			l.pruneLocked(now)
			if len(l.buckets) >= l.maxSize {
				return false, l.interval
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.interval))
	}
	b.tokens--
	return true, 0
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+float64(d)/float64(l.interval))
		b.at = now
	}
}

// pruneLocked forgets the clients whose bucket is full again: they are not
// limited.
func (l *limiter) pruneLocked(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}
