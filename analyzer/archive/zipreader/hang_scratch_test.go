package zipreader

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"os"
	"runtime"
	"testing"
	"time"
)

func TestScratchHang(t *testing.T) {
	seeds := fuzzSeeds(t)
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		s := bytes.Clone(seeds[r.Intn(len(seeds))])
		for k := r.Intn(8) + 1; k > 0; k-- {
			s[r.Intn(len(s))] = byte(r.Intn(256))
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			a, err := Open(bytes.NewReader(s), int64(len(s)), Options{MaxEntries: 1000})
			if err != nil {
				return
			}
			for _, e := range a.Entries {
				rc, err := a.Open(e)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, io.LimitReader(rc, 4<<20))
				rc.Close()
			}
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			os.WriteFile("/tmp/hang.zip", s, 0o644)
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			fmt.Println(string(buf[:n]))
			t.Fatalf("hang at %d", i)
		}
	}
}
