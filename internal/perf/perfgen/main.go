// Command perfgen writes the inputs of Violet's benchmarks into a folder,
// so that the built binary can be measured on them (internal/perf/rss.sh
// runs it under /usr/bin/time -v). Large files are sparse: their tensor or
// byte-string payloads are holes, so the folder takes a few MB of disk.
//
//	go run ./internal/perf/perfgen -out /tmp/violet-perf
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/violet-mlsecops/violet/internal/perf"
)

func main() {
	out := flag.String("out", "", "folder to write the inputs into (created)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: perfgen -out DIR")
		os.Exit(2)
	}
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "perfgen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	write := func(name string, p perf.Pickle) error {
		fmt.Printf("%-28s %12d bytes %10d opcodes\n", name, len(p.Data), p.Ops)
		return os.WriteFile(filepath.Join(out, name), p.Data, 0o644)
	}
	for _, p := range perf.DensePickles() {
		if err := write(p.Name+".pkl", p); err != nil {
			return err
		}
	}
	if err := write("benign-10M-ops.pkl", perf.Benign(10_000_000)); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		ts   []perf.Tensor
	}{{"checkpoint-2GB.pt", perf.Checkpoint2GB()}, {"checkpoint-20MB.pt", perf.Checkpoint20MB()}} {
		size, err := perf.WriteCheckpoint(filepath.Join(out, c.name), c.ts)
		if err != nil {
			return err
		}
		fmt.Printf("%-28s %12d bytes %10d tensors (sparse)\n", c.name, size, len(c.ts))
	}
	size, err := perf.WriteBigBytes(filepath.Join(out, "bytes-1GiB.pkl"), 1<<30)
	if err != nil {
		return err
	}
	fmt.Printf("%-28s %12d bytes (sparse)\n", "bytes-1GiB.pkl", size)
	if err := perf.WriteSmallFiles(filepath.Join(out, "small"), 10_000); err != nil {
		return err
	}
	fmt.Printf("%-28s %12d files\n", "small/", 10_000)
	return nil
}
