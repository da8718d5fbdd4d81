package pickle

import (
	"bytes"
	"context"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/perf"
)

// The throughput of the VM and of the whole pickle analyzer on
// opcode-dense pickles, written opcode for opcode as CPython's pickler
// writes the same data (internal/perf). See docs/performance.md:
//
//	go test -run '^$' -bench 'BenchmarkRun|BenchmarkAnalyzer' -benchmem ./analyzer/pickle/

// benchPickles are built once: the generators take longer than the VM.
var benchPickles = perf.DensePickles()

func BenchmarkRun(b *testing.B) {
	for _, p := range benchPickles {
		b.Run(p.Name, func(b *testing.B) {
			b.SetBytes(int64(len(p.Data)))
			r := bytes.NewReader(p.Data)
			var ops int64
			for b.Loop() {
				tr, err := Run(context.Background(), r, int64(len(p.Data)), Options{})
				if err != nil || len(tr.Streams) != 1 || tr.Streams[0].Err != nil {
					b.Fatalf("trace: %v %+v", err, tr.Streams)
				}
				ops = tr.Streams[0].Ops
			}
			if ops != p.Ops {
				b.Fatalf("%d opcodes executed, %d written", ops, p.Ops)
			}
			reportOps(b, ops)
		})
	}
}

func BenchmarkAnalyzer(b *testing.B) {
	a := New(DefaultPolicy())
	for _, p := range benchPickles {
		b.Run(p.Name, func(b *testing.B) {
			b.SetBytes(int64(len(p.Data)))
			for b.Loop() {
				out := &benchOutput{}
				in := analyzer.NewBytesInput(p.Name, p.Data)
				if err := a.Scan(context.Background(), in, out); err != nil {
					b.Fatal(err)
				}
				if len(out.findings) > 0 {
					b.Fatalf("findings on a benign pickle: %+v", out.findings)
				}
			}
			reportOps(b, p.Ops)
		})
	}
}

// reportOps adds ns/opcode and Mops/s to the benchmark's figures.
func reportOps(b *testing.B, ops int64) {
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(ops)
	b.ReportMetric(perOp, "ns/opcode")
	b.ReportMetric(1e3/perOp, "Mops/s")
}

// TestBenign10MOps: a benign pickle of ten million opcodes goes through
// with no finding at or above medium (no limit of the VM stops it).
func TestBenign10MOps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 90 MB pickle")
	}
	p := perf.Benign(10_000_000)
	if p.Ops < 10_000_000 {
		t.Fatalf("only %d opcodes", p.Ops)
	}
	tr, err := Run(context.Background(), bytes.NewReader(p.Data), int64(len(p.Data)), Options{})
	if err != nil || len(tr.Streams) != 1 || tr.Streams[0].Err != nil || tr.Streams[0].Ops != p.Ops {
		t.Fatalf("trace: %v %+v", err, tr.Streams)
	}
	out := &benchOutput{}
	if err := New(DefaultPolicy()).Scan(context.Background(), analyzer.NewBytesInput(p.Name, p.Data), out); err != nil {
		t.Fatal(err)
	}
	for _, f := range out.findings {
		if f.Severity >= finding.Medium {
			t.Errorf("finding on a benign pickle of %d opcodes: %s %s", p.Ops, f.Rule, f.Message)
		}
	}
}

// benchOutput collects the findings of an analyzer.
type benchOutput struct{ findings []finding.Finding }

func (o *benchOutput) Report(f finding.Finding) { o.findings = append(o.findings, f) }

func (o *benchOutput) Member(context.Context, analyzer.Member) error { return nil }

func (o *benchOutput) Format(string) {}

// BenchmarkResync measures the search for a further stream after a failed
// one, over 64 MiB of float32 weights (what a tensor holds) behind a first
// byte that reads as BINUNICODE of 4 GiB: about one tensor in a hundred
// starts with bytes that read as a pickle opcode whose argument runs past
// the head, and is then searched in full.
func BenchmarkResync(b *testing.B) {
	data := perf.Weights(64 << 20)
	data[0], data[1], data[2], data[3], data[4] = opBINUNICODE, 0xff, 0xff, 0xff, 0xff
	b.SetBytes(int64(len(data)))
	r := bytes.NewReader(data)
	for b.Loop() {
		tr, err := Run(context.Background(), r, int64(len(data)), Options{})
		if err != nil || len(tr.Streams) == 0 || tr.Streams[0].Err == nil {
			b.Fatalf("trace: %v %+v", err, tr.Streams)
		}
	}
}
