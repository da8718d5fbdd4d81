//go:build linux

package gate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bombs are policies that build huge values: each doubles a value 40
// times (a terabyte, if nothing stops it), or asks for a huge range.
var bombs = map[string]string{
	"string":         doubling(`"0123456789abcdef"`, `concat("", [%s, %s])`),
	"string, offset": doubling(`"0123456789abcdef01234567"`, `concat("", [%s, %s])`),
	"array":          doubling(`[1, 2, 3, 4]`, `array.concat(%s, %s)`),
	"range":          "package violet.gate\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\"} if count(numbers.range(1, 4000000000)) > 0\n",
}

// doubling is a policy that applies double (a format of two %s) to seed
// 40 times.
func doubling(seed, double string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package violet.gate\n\nv0 := %s\n\n", seed)
	for i := 1; i <= 40; i++ {
		prev := fmt.Sprintf("v%d", i-1)
		fmt.Fprintf(&b, "v%d := %s\n\n", i, fmt.Sprintf(double, prev, prev))
	}
	b.WriteString("deny contains {\"id\": \"X\", \"msg\": \"m\"} if count(v40) > 0\n")
	return b.String()
}

// TestEvaluateMemoryBound evaluates policies that build huge values, each
// in a child process (its peak memory is the child's alone): each
// evaluation must fail with a clear error, within the deadline, under
// 1 GiB.
func TestEvaluateMemoryBound(t *testing.T) {
	if name := os.Getenv("VIOLET_GATE_BOMB"); name != "" {
		// A safety net for the machine running the test: without the
		// bound, the child dies here rather than taking all memory.
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: 6 << 30, Max: 6 << 30}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		writeFile(t, dir, "bomb.rego", bombs[name])
		p, err := LoadPolicy(context.Background(), []string{dir}, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := p.Evaluate(context.Background(), cleanInput())
		fmt.Printf("\nRESULT %v %+v\n", err, d)
		return
	}
	if testing.Short() {
		t.Skip("allocates up to 1 GiB")
	}
	if raceEnabled {
		t.Skip("the race detector multiplies memory use several times: the plain test run checks the bound")
	}
	for name := range bombs {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestEvaluateMemoryBound$", "-test.v")
			cmd.Env = append(os.Environ(), "VIOLET_GATE_BOMB="+name)
			start := time.Now()
			out, err := cmd.CombinedOutput()
			elapsed := time.Since(start)
			i := strings.LastIndex(string(out), "RESULT ")
			if err != nil || i < 0 {
				t.Fatalf("the evaluation crashed: %v\n%s", err, tail(out))
			}
			result := strings.TrimSpace(string(out[i:]))
			if !strings.Contains(result, "too much memory") || strings.HasPrefix(result, "RESULT <nil>") {
				t.Errorf("want an error about memory, got %s", result)
			}
			if elapsed > DefaultEvalTimeout {
				t.Errorf("took %v, past the %v deadline", elapsed, DefaultEvalTimeout)
			}
			peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
			if peak > 1<<30 {
				t.Errorf("peak memory %d MiB, want under 1 GiB", peak>>20)
			}
			t.Logf("%v, peak %d MiB: %s", elapsed, peak>>20, result)
		})
	}
}

// tail is the end of a child's output.
func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
