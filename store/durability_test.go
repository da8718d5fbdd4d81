package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestConcurrentWriters: writers in parallel lose nothing, duplicate
// nothing, and leave a chain without gaps that verifies.
func TestConcurrentWriters(t *testing.T) {
	eachBackend(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := openT(t, target)
		const writers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if _, err := s.CreateTeam(ctx, Actor{Name: fmt.Sprintf("writer%d", w)}, fmt.Sprintf("team %d-%d", w, i)); err != nil {
						errs <- err
					}
				}
			}()
		}
		// Readers run meanwhile.
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					if _, err := s.VerifyAudit(ctx); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		teams := must[[]Team](t)(s.Teams(ctx))
		seen := map[string]bool{}
		for _, tm := range teams {
			if seen[tm.Name] {
				t.Fatalf("team %q twice", tm.Name)
			}
			seen[tm.Name] = true
		}
		if len(teams) != writers*each {
			t.Fatalf("%d teams, want %d", len(teams), writers*each)
		}
		head := verifyOK(t, s)
		if head.Seq != writers*each || count(t, s, "audit_log") != writers*each {
			t.Fatalf("audit head %+v, %d records, want %d", head, count(t, s, "audit_log"), writers*each)
		}
	})
}

// TestTwoProcessesOneFile: two stores on one SQLite file (two servers, or a
// server and a CLI) take turns through the file lock and busy timeout.
func TestTwoStoresOneFile(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, b := openT(t, dir), openT(t, dir)
	var wg sync.WaitGroup
	for i, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 30 {
				if _, err := s.CreateTeam(ctx, tester, fmt.Sprintf("t%d-%d", i, j)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if head := verifyOK(t, a); head.Seq != 60 {
		t.Fatalf("head %+v", head)
	}
}

// crashChildEnv names the data folder of TestCrashChild's writer.
const crashChildEnv = "VIOLET_STORE_CRASH_CHILD"

// TestCrashChild is the child of TestKillDuringWrites: it writes teams and
// prints "ack <name>" after each commit, until killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("the child process of TestKillDuringWrites")
	}
	s, err := Open(context.Background(), dir)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		name := fmt.Sprintf("crash-%d-%d", os.Getpid(), i)
		if _, err := s.CreateTeam(context.Background(), Actor{Name: "child"}, name); err != nil {
			fmt.Println("write:", err)
			os.Exit(2)
		}
		fmt.Fprintln(out, "ack", name)
		out.Flush()
	}
}

// TestKillDuringWrites kills (SIGKILL) a process in the middle of a stream
// of writes, then reopens the store: every write the child acknowledged
// (after its commit returned) is there, and the audit chain verifies.
func TestKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[string]bool{}
		sc := bufio.NewScanner(stdout)
		deadline := time.Now().Add(30 * time.Second)
		for sc.Scan() {
			line := sc.Text()
			name, ok := strings.CutPrefix(line, "ack ")
			if !ok {
				t.Fatalf("child: %s", line)
			}
			acked[name] = true
			if len(acked) == 40+round*17 || time.Now().After(deadline) {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		// Acks printed before the kill are still in the pipe.
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				acked[name] = true
			}
		}
		_ = cmd.Wait()
		if len(acked) < 40 {
			t.Fatalf("round %d: the child acknowledged only %d writes", round, len(acked))
		}

		s, err := Open(context.Background(), dir)
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		present := map[string]bool{}
		for _, tm := range must[[]Team](t)(s.Teams(context.Background())) {
			present[tm.Name] = true
		}
		for name := range acked {
			if !present[name] {
				t.Fatalf("round %d: acknowledged %s lost", round, name)
			}
		}
		head := verifyOK(t, s)
		if head.Seq != int64(len(present)) {
			t.Fatalf("round %d: %d teams, audit head %+v", round, len(present), head)
		}
		s.Close()
	}
}
