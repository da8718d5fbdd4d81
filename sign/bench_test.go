package sign

// Benchmarks of Hash against the machine's limit: SHA-256 (and BLAKE3) over bytes already in memory,
// one goroutine per core. Each benchmark writes its files once into a temporary folder and runs its
// cases as sub-benchmarks, after a first untimed pass, so the files are read from the page cache.
//
//	go test -run '^$' -bench . -benchtime 3x ./sign/

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/zeebo/blake3"
)

const (
	benchMiB = 1 << 20
	benchGiB = 1 << 30
)

// benchFile writes size bytes of pseudo-random data at dir/name.
func benchFile(b *testing.B, dir, name string, size int64) {
	b.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{byte(size), byte(len(name))})
	buf := make([]byte, min(size, 4*benchMiB))
	for left := size; left > 0; left -= int64(len(buf)) {
		chunk := buf[:min(int64(len(buf)), left)]
		if _, err := rng.Read(chunk); err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchModel is a model folder written once per benchmark.
type benchModel struct {
	dir   string
	bytes int64
}

func newBenchModel(b *testing.B, files map[string]int64) benchModel {
	b.Helper()
	if testing.Short() {
		b.Skip("writes large files")
	}
	m := benchModel{dir: b.TempDir()}
	for name, size := range files {
		benchFile(b, m.dir, name, size)
		m.bytes += size
	}
	return m
}

// run hashes the model b.N times, after one untimed pass that loads the page cache.
func (m benchModel) run(b *testing.B, s Serialization, opts HashOptions) {
	if _, err := Hash(context.Background(), m.dir, s, opts); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(m.bytes)
	b.ResetTimer()
	for range b.N {
		if _, err := Hash(context.Background(), m.dir, s, opts); err != nil {
			b.Fatal(err)
		}
	}
}

var (
	benchFilesSHA256 = Serialization{Method: MethodFiles, HashType: HashSHA256}
	benchFilesBLAKE3 = Serialization{Method: MethodFiles, HashType: HashBLAKE3}
)

// BenchmarkHashBigFiles: 2 files of 512 MiB, method files, with several read sizes.
func BenchmarkHashBigFiles(b *testing.B) {
	m := newBenchModel(b, map[string]int64{"a.bin": 512 * benchMiB, "b.bin": 512 * benchMiB})
	for _, rs := range []int{128 << 10, 256 << 10, 1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("sha256/read=%dKiB", rs>>10), func(b *testing.B) {
			m.run(b, benchFilesSHA256, HashOptions{ReadSize: rs})
		})
	}
	b.Run("sha256/workers=1", func(b *testing.B) { m.run(b, benchFilesSHA256, HashOptions{Workers: 1}) })
	b.Run("blake3", func(b *testing.B) { m.run(b, benchFilesBLAKE3, HashOptions{}) })
}

// BenchmarkHashSharded: one file of 1 GiB, method shards (128 MiB shards, and the default 1 GB), and
// method files for comparison (one SHA-256 stream).
func BenchmarkHashSharded(b *testing.B) {
	m := newBenchModel(b, map[string]int64{"model.bin": benchGiB})
	b.Run("shards=128MiB", func(b *testing.B) {
		m.run(b, Serialization{Method: MethodShards, HashType: HashSHA256, ShardSize: 128 * benchMiB}, HashOptions{})
	})
	b.Run("shards=1GB", func(b *testing.B) {
		m.run(b, Serialization{Method: MethodShards, HashType: HashSHA256}, HashOptions{})
	})
	b.Run("files", func(b *testing.B) { m.run(b, benchFilesSHA256, HashOptions{}) })
	b.Run("files/blake3", func(b *testing.B) { m.run(b, benchFilesBLAKE3, HashOptions{}) })
}

// BenchmarkHashManySmall: 10,000 files of 4 KiB in 100 folders.
func BenchmarkHashManySmall(b *testing.B) {
	files := map[string]int64{}
	for i := range 10000 {
		files[fmt.Sprintf("d%02d/f%04d.bin", i%100, i)] = 4 << 10
	}
	m := newBenchModel(b, files)
	b.Run("sha256", func(b *testing.B) {
		m.run(b, benchFilesSHA256, HashOptions{})
		b.ReportMetric(float64(b.N)*10000/b.Elapsed().Seconds(), "files/s")
	})
	b.Run("sha256/workers=1", func(b *testing.B) {
		m.run(b, benchFilesSHA256, HashOptions{Workers: 1})
		b.ReportMetric(float64(b.N)*10000/b.Elapsed().Seconds(), "files/s")
	})
	b.Run("blake3", func(b *testing.B) {
		m.run(b, benchFilesBLAKE3, HashOptions{})
		b.ReportMetric(float64(b.N)*10000/b.Elapsed().Seconds(), "files/s")
	})
}

// BenchmarkHashHFLayout: a Hugging Face model folder: configuration and tokenizer files, and three
// safetensors shards of 300 MiB.
func BenchmarkHashHFLayout(b *testing.B) {
	m := newBenchModel(b, map[string]int64{
		"config.json": 700, "generation_config.json": 200, "tokenizer.json": 2 * benchMiB,
		"tokenizer_config.json": 50 << 10, "special_tokens_map.json": 500, "tokenizer.model": 500 << 10,
		"model.safetensors.index.json":     30 << 10,
		"model-00001-of-00003.safetensors": 300 * benchMiB,
		"model-00002-of-00003.safetensors": 300 * benchMiB,
		"model-00003-of-00003.safetensors": 300 * benchMiB,
		"README.md":                        5 << 10,
	})
	b.Run("files", func(b *testing.B) { m.run(b, benchFilesSHA256, HashOptions{}) })
	b.Run("shards=1GB", func(b *testing.B) {
		m.run(b, Serialization{Method: MethodShards, HashType: HashSHA256}, HashOptions{})
	})
	b.Run("shards=100MB", func(b *testing.B) {
		m.run(b, Serialization{Method: MethodShards, HashType: HashSHA256, ShardSize: 100_000_000}, HashOptions{})
	})
	b.Run("files/blake3", func(b *testing.B) { m.run(b, benchFilesBLAKE3, HashOptions{}) })
}

// benchLimit hashes a 256 MiB buffer per core, from memory, with one goroutine per core: the speed
// that hashing files cannot exceed.
func benchLimit(b *testing.B, newHash func() hash.Hash) {
	if testing.Short() {
		b.Skip("uses 256 MiB per core")
	}
	cores := runtime.GOMAXPROCS(0)
	bufs := make([][]byte, cores)
	for i := range bufs {
		bufs[i] = make([]byte, 256*benchMiB)
		if _, err := rand.NewChaCha8([32]byte{byte(i)}).Read(bufs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(cores) * 256 * benchMiB)
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for _, buf := range bufs {
			wg.Go(func() {
				h := newHash()
				h.Write(buf)
				h.Sum(nil)
			})
		}
		wg.Wait()
	}
}

// BenchmarkSHA256Limit is crypto/sha256 over bytes in memory, one goroutine per core.
func BenchmarkSHA256Limit(b *testing.B) {
	b.Run("all-cores", func(b *testing.B) { benchLimit(b, sha256.New) })
	b.Run("one-core", func(b *testing.B) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		benchLimit(b, sha256.New)
	})
}

// BenchmarkBLAKE3Limit is github.com/zeebo/blake3 over bytes in memory, one goroutine per core.
func BenchmarkBLAKE3Limit(b *testing.B) {
	b.Run("all-cores", func(b *testing.B) { benchLimit(b, func() hash.Hash { return blake3.New() }) })
	b.Run("one-core", func(b *testing.B) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		benchLimit(b, func() hash.Hash { return blake3.New() })
	})
}
