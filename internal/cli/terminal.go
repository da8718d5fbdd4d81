package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/violet-mlsecops/violet/report"
)

// Terminal reports whether w is a terminal: progress and colour are for
// people, never for a file, a pipe or a CI log.
func Terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Color reports whether a text report written to w is coloured: w is a
// terminal, NO_COLOR is not set (https://no-color.org) and --no-color was
// not given.
func Color(w io.Writer, noColor bool) bool {
	return !noColor && os.Getenv("NO_COLOR") == "" && Terminal(w)
}

// Progress is the progress line of a long run, on standard error: shown
// only when standard error is a terminal and the command is not --quiet.
// A nil *Progress shows nothing.
type Progress struct {
	w  io.Writer
	mu sync.Mutex
}

// NewProgress returns the progress line of stderr, or nil when stderr is
// not a terminal or quiet is set.
func NewProgress(stderr io.Writer, quiet bool) *Progress {
	if quiet || !Terminal(stderr) {
		return nil
	}
	return &Progress{w: stderr}
}

// Counter returns a function that shows "verb done/total files", for
// scan.Options.Progress, cleared when done reaches total; nil for a nil p.
func (p *Progress) Counter(verb string) func(done, total int) {
	if p == nil {
		return nil
	}
	return func(done, total int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintf(p.w, "\r%s %d/%d files", verb, done, total)
		if done == total {
			fmt.Fprint(p.w, "\r\033[K")
		}
	}
}

// busyInterval is how often Busy updates its line.
var busyInterval = time.Second

// Busy shows "what (Ns)" until stop is called, for work that reports no
// count (hashing a model): the line is updated every second and cleared by
// stop, which may be called more than once. what is escaped as the text
// reports escape names.
func (p *Progress) Busy(what string) (stop func()) {
	if p == nil {
		return func() {}
	}
	what = report.SafeText(what)
	start := time.Now()
	show := func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintf(p.w, "\r\033[K%s (%s)", what, time.Since(start).Truncate(time.Second))
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		show()
		t := time.NewTicker(busyInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				show()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-finished
			p.mu.Lock()
			defer p.mu.Unlock()
			fmt.Fprint(p.w, "\r\033[K")
		})
	}
}

// LogLevels are the values of --log-level, from the most to the least
// detailed.
var LogLevels = []string{"debug", "info", "warn", "error"}

// DefaultLogLevel is the level of --log-level by default.
const DefaultLogLevel = "warn"

// NewLogger returns the logger of --log-level: text lines on w (standard
// error), at level and above.
func NewLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want %s", level, OrList(LogLevels))
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
