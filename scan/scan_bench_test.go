package scan

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/perf"
	"github.com/violet-mlsecops/violet/report"
)

// The engine's benchmarks, on files the benchmarks write into a temporary
// folder (the large ones sparse: tensor and byte-string payloads are holes,
// so that they take no disk space and no time to write). See
// docs/performance.md:
//
//	go test -run '^$' -bench . -benchmem ./scan/
//
// read-B/op is what the process read from files (rchar of /proc/self/io)
// per scan: it shows that the tensor bytes of a checkpoint are never read.

func benchOptions(workers int) Options {
	return Options{Analyzers: Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits(), Workers: workers}
}

// benchScan scans targets b.N times and checks that the report holds no
// finding at or above medium; it reports read-B/op.
func benchScan(b *testing.B, targets []string, workers int) *report.Report {
	b.Helper()
	opts := benchOptions(workers)
	var r *report.Report
	read0 := readBytes()
	cpu0 := cpuTime()
	for b.Loop() {
		var err error
		if r, err = Scan(context.Background(), targets, opts); err != nil {
			b.Fatal(err)
		}
	}
	if cpu1 := cpuTime(); cpu0 >= 0 && cpu1 >= 0 {
		b.ReportMetric(float64(cpu1-cpu0)/1e6/float64(b.N), "cpu-ms/op")
	}
	if read1 := readBytes(); read0 >= 0 && read1 >= 0 {
		b.ReportMetric(float64(read1-read0)/float64(b.N), "read-B/op")
	}
	for _, f := range r.Files {
		for _, x := range f.Findings {
			if x.Severity >= finding.Medium {
				b.Fatalf("%s: %s %s", f.Path, x.Rule, x.Message)
			}
		}
	}
	return r
}

// readBytes is the rchar count of /proc/self/io: the bytes the process read
// with read and pread calls, from disk or from the page cache; -1 where it
// cannot be read.
func readBytes() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("rchar: ")); ok {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// BenchmarkScanCheckpoint scans a PyTorch zip checkpoint of 643 tensors:
// 2 GB and 20 MB of storage, the same pickle. The time must not grow with
// the tensor bytes.
func BenchmarkScanCheckpoint(b *testing.B) {
	for _, c := range []struct {
		name string
		ts   []perf.Tensor
	}{{"2GB", perf.Checkpoint2GB()}, {"20MB", perf.Checkpoint20MB()}} {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "model.pt")
			if _, err := perf.WriteCheckpoint(path, c.ts); err != nil {
				b.Fatal(err)
			}
			r := benchScan(b, []string{path}, 0)
			if f := r.Files[0]; !slices.Contains(f.Formats, "pytorch-zip") || f.Incomplete {
				b.Fatalf("formats %v, incomplete %v", f.Formats, f.Incomplete)
			}
		})
	}
}

// BenchmarkScanBigBytes scans a raw pickle that holds a 1 GiB byte string.
func BenchmarkScanBigBytes(b *testing.B) {
	path := filepath.Join(b.TempDir(), "blob.pkl")
	if _, err := perf.WriteBigBytes(path, 1<<30); err != nil {
		b.Fatal(err)
	}
	benchScan(b, []string{path}, 0)
}

// BenchmarkScanDense scans the opcode-dense pickles as files, through the
// whole engine.
func BenchmarkScanDense(b *testing.B) {
	dir := b.TempDir()
	for _, p := range perf.DensePickles() {
		path := filepath.Join(dir, p.Name+".pkl")
		if err := os.WriteFile(path, p.Data, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(p.Name, func(b *testing.B) {
			b.SetBytes(int64(len(p.Data)))
			benchScan(b, []string{path}, 1)
		})
	}
}

// BenchmarkScanSmallFiles scans 20,000 small files (pickles, .npy arrays,
// JSON configurations, text) with 1, 2, 4 and 8 workers; files/s is the
// throughput, which should grow with the workers up to the cores.
func BenchmarkScanSmallFiles(b *testing.B) {
	const n = 20_000
	dir := b.TempDir()
	if err := perf.WriteSmallFiles(dir, n); err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2, 4, 8} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			r := benchScan(b, []string{dir}, workers)
			if r.Summary.Files != n {
				b.Fatalf("%d files scanned", r.Summary.Files)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}

// BenchmarkWalkSmallFiles lists the 20,000 files of BenchmarkScanSmallFiles
// without scanning them: the walk is the one stage of a scan that one
// goroutine runs, so its files/s bounds the scan's on any number of cores.
func BenchmarkWalkSmallFiles(b *testing.B) {
	const n = 20_000
	dir := b.TempDir()
	if err := perf.WriteSmallFiles(dir, n); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		files, err := walk([]string{dir}, nil, "", nil)
		if err != nil || len(files) != n {
			b.Fatalf("%d files, %v", len(files), err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
}
