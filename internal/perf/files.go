package perf

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Tensor is one tensor of a state dict: a float32 storage of its own.
type Tensor struct {
	Name  string
	Shape []int64
}

// Numel is the number of elements.
func (t Tensor) Numel() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Model lists the tensors of a decoder-only transformer's state dict
// (token embedding, then per layer the attention and MLP weights and biases
// and two layer norms, then a final norm): 2 + 16*layers + 2 tensors.
func Model(layers, dim, vocab int64) []Tensor {
	ts := []Tensor{{"embed.weight", []int64{vocab, dim}}}
	for l := range layers {
		p := fmt.Sprintf("layers.%d.", l)
		for _, n := range []string{"q", "k", "v", "o"} {
			ts = append(ts, Tensor{p + "attn." + n + ".weight", []int64{dim, dim}}, Tensor{p + "attn." + n + ".bias", []int64{dim}})
		}
		ts = append(ts,
			Tensor{p + "mlp.up.weight", []int64{4 * dim, dim}}, Tensor{p + "mlp.up.bias", []int64{4 * dim}},
			Tensor{p + "mlp.down.weight", []int64{dim, 4 * dim}}, Tensor{p + "mlp.down.bias", []int64{dim}},
			Tensor{p + "ln1.weight", []int64{dim}}, Tensor{p + "ln1.bias", []int64{dim}},
			Tensor{p + "ln2.weight", []int64{dim}}, Tensor{p + "ln2.bias", []int64{dim}})
	}
	return append(ts, Tensor{"norm.weight", []int64{dim}}, Tensor{"norm.bias", []int64{dim}})
}

// Bytes is the size of the tensors' storages.
func Bytes(ts []Tensor) int64 {
	var n int64
	for _, t := range ts {
		n += 4 * t.Numel()
	}
	return n
}

// Checkpoint2GB is a 2 GB float32 model: 40 layers of width 1024 and a
// vocabulary of 32768 (643 tensors, 2,149,621,760 bytes of storage).
func Checkpoint2GB() []Tensor { return Model(40, 1024, 32768) }

// Checkpoint20MB is the same model, with as many tensors and a pickle of
// the same shape, at width 96 and a vocabulary of 8192 (about 21 MB of
// storage).
func Checkpoint20MB() []Tensor { return Model(40, 96, 8192) }

// StateDict is data.pkl of torch.save(model.state_dict()) at protocol 2,
// as torch writes it: an OrderedDict of _rebuild_tensor_v2 calls whose
// storages are persistent ids ('storage', torch.FloatStorage, key, 'cpu',
// numel), then its _metadata.
func StateDict(ts []Tensor) Pickle {
	w := newWriter(2)
	memo := map[string]int{}
	global := func(module, name string) {
		key := "g" + module + "\n" + name
		if idx, ok := memo[key]; ok {
			w.get(idx)
			return
		}
		w.op(append([]byte{'c'}, module+"\n"+name+"\n"...)...)
		memo[key] = w.memoize()
	}
	str := func(s string) {
		if idx, ok := memo["s"+s]; ok {
			w.get(idx)
			return
		}
		memo["s"+s] = w.str(s)
	}
	ints := func(v []int64) {
		w.tuple(len(v), func() {
			for _, x := range v {
				w.int(x)
			}
		})
	}
	orderedDict := func() {
		global("collections", "OrderedDict")
		w.op(')')
		w.op('R')
		w.memoize()
	}
	orderedDict()
	w.op('(')
	for i, t := range ts {
		if i > 0 && i%batchSize == 0 {
			w.op('u')
			w.op('(')
		}
		str(t.Name)
		global("torch._utils", "_rebuild_tensor_v2")
		w.op('(')
		w.tuple(5, func() {
			str("storage")
			global("torch", "FloatStorage")
			w.str(fmt.Sprint(i))
			str("cpu")
			w.int(t.Numel())
		})
		w.op('Q') // BINPERSID
		w.int(0)  // storage offset
		ints(t.Shape)
		stride := make([]int64, len(t.Shape))
		s := int64(1)
		for j := len(t.Shape) - 1; j >= 0; j-- {
			stride[j] = s
			s *= t.Shape[j]
		}
		ints(stride)
		w.op(0x89) // NEWFALSE: requires_grad
		orderedDict()
		w.op('t')
		w.memoize()
		w.op('R')
		w.memoize()
	}
	w.op('u')
	// state_dict._metadata: {'': {'version': 1}, 'layers.0': ...}, set by BUILD.
	modules := []string{""}
	for _, t := range ts {
		if i := strings.LastIndexByte(t.Name, '.'); i > 0 && modules[len(modules)-1] != t.Name[:i] {
			modules = append(modules, t.Name[:i])
		}
	}
	w.op('}')
	w.memoize()
	str("_metadata")
	orderedDict()
	w.op('(')
	for _, m := range modules {
		str(m)
		w.op('}')
		w.memoize()
		str("version")
		w.int(1)
		w.op('s')
	}
	w.op('u')
	w.op('s')
	w.op('b') // BUILD
	return done(fmt.Sprintf("torch-state-dict-%d", len(ts)), w)
}

// zipWriter writes a zip archive the way PyTorch's writer (miniz) does:
// stored members aligned on 64 bytes by an "FB" extra field, sizes and
// CRC in a data descriptor, ZIP64 end records.
type zipWriter struct {
	f       *os.File
	w       *bufio.Writer
	off     int64
	central []byte
	n       int
}

func (z *zipWriter) write(b []byte) error {
	_, err := z.w.Write(b)
	z.off += int64(len(b))
	return err
}

// member writes a member of size bytes whose first bytes are head; the
// rest are zeros left as a hole in the file (seeked over, never written).
func (z *zipWriter) member(name string, head []byte, size int64) error {
	const alignment = 64
	h := binary.LittleEndian.AppendUint32(nil, 0x04034b50)
	h = append(h, 0, 0, 0x08, 0x08, 0, 0, 0, 0, 0, 0) // version, flags 0x0808, store, time, date
	h = append(h, make([]byte, 12)...)                // CRC and sizes: in the descriptor
	pad := (alignment - (z.off+30+int64(len(name))+4)%alignment) % alignment
	h = binary.LittleEndian.AppendUint16(h, uint16(len(name)))
	h = binary.LittleEndian.AppendUint16(h, uint16(4+pad))
	h = append(h, name...)
	h = append(h, 'F', 'B')
	h = binary.LittleEndian.AppendUint16(h, uint16(pad))
	h = append(h, strings.Repeat("Z", int(pad))...)
	local := z.off
	if err := z.write(h); err != nil {
		return err
	}
	head = head[:min(int64(len(head)), size)]
	if err := z.write(head); err != nil {
		return err
	}
	crc := crc32.ChecksumIEEE(head)
	if hole := size - int64(len(head)); hole > 0 {
		crc = crcZeros(crc, hole)
		if err := z.w.Flush(); err != nil {
			return err
		}
		if _, err := z.f.Seek(hole, io.SeekCurrent); err != nil {
			return err
		}
		z.off += hole
	}
	if size > math.MaxUint32-1 || local > math.MaxUint32-1 {
		return fmt.Errorf("perf: member %s needs ZIP64 sizes", name)
	}
	d := binary.LittleEndian.AppendUint32(nil, 0x08074b50)
	d = binary.LittleEndian.AppendUint32(d, crc)
	d = binary.LittleEndian.AppendUint32(d, uint32(size))
	d = binary.LittleEndian.AppendUint32(d, uint32(size))
	if err := z.write(d); err != nil {
		return err
	}
	c := binary.LittleEndian.AppendUint32(z.central, 0x02014b50)
	c = append(c, 0, 0, 0, 0, 0x08, 0x08, 0, 0, 0, 0, 0, 0)
	c = binary.LittleEndian.AppendUint32(c, crc)
	c = binary.LittleEndian.AppendUint32(c, uint32(size))
	c = binary.LittleEndian.AppendUint32(c, uint32(size))
	c = binary.LittleEndian.AppendUint16(c, uint16(len(name)))
	c = append(c, make([]byte, 12)...) // extra, comment, disk, attributes
	c = binary.LittleEndian.AppendUint32(c, uint32(local))
	z.central = append(c, name...)
	z.n++
	return nil
}

func (z *zipWriter) close() error {
	cdOff, cdLen := z.off, int64(len(z.central))
	if err := z.write(z.central); err != nil {
		return err
	}
	e := binary.LittleEndian.AppendUint32(nil, 0x06064b50) // ZIP64 end record
	e = binary.LittleEndian.AppendUint64(e, 44)
	e = append(e, 0x1e, 0x03, 0x2d, 0, 0, 0, 0, 0, 0, 0, 0, 0) // versions, disk numbers
	e = binary.LittleEndian.AppendUint64(e, uint64(z.n))
	e = binary.LittleEndian.AppendUint64(e, uint64(z.n))
	e = binary.LittleEndian.AppendUint64(e, uint64(cdLen))
	e = binary.LittleEndian.AppendUint64(e, uint64(cdOff))
	e = binary.LittleEndian.AppendUint32(e, 0x07064b50) // its locator
	e = binary.LittleEndian.AppendUint32(e, 0)
	e = binary.LittleEndian.AppendUint64(e, uint64(cdOff+cdLen))
	e = binary.LittleEndian.AppendUint32(e, 1)
	e = binary.LittleEndian.AppendUint32(e, 0x06054b50) // end record
	e = append(e, 0, 0, 0, 0)
	e = binary.LittleEndian.AppendUint16(e, uint16(min(z.n, 0xffff)))
	e = binary.LittleEndian.AppendUint16(e, uint16(min(z.n, 0xffff)))
	e = binary.LittleEndian.AppendUint32(e, uint32(cdLen))
	e = binary.LittleEndian.AppendUint32(e, uint32(cdOff))
	e = append(e, 0, 0)
	if err := z.write(e); err != nil {
		return err
	}
	if err := z.w.Flush(); err != nil {
		return err
	}
	return z.f.Close()
}

// crcZeros extends crc over n zero bytes.
func crcZeros(crc uint32, n int64) uint32 {
	var zeros [1 << 16]byte
	for n > 0 {
		k := min(n, int64(len(zeros)))
		crc = crc32.Update(crc, crc32.IEEETable, zeros[:k])
		n -= k
	}
	return crc
}

// tensorHead is the first bytes of tensor i's storage: float32 weights of
// a trained layer (normal, sd 0.02). Only these bytes are written.
func tensorHead(i int, n int) []byte {
	r := newRand(uint64(1000 + i))
	b := make([]byte, 0, n)
	for len(b) < n {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(r.normal()*0.02)))
	}
	return b
}

// Weights returns n bytes of float32 weights of a trained layer.
func Weights(n int) []byte { return tensorHead(0, n) }

// HeadBytes is how many bytes of each tensor are written; the rest of the
// storage is a hole of the sparse file.
const HeadBytes = 16 << 10

// WriteCheckpoint writes at path a PyTorch zip checkpoint of the tensors
// (torch.save layout: archive/data.pkl, archive/data/<key>, version
// records), whose storages are holes after their first HeadBytes: the file
// takes little disk space and no time to write whatever its size. It
// returns the size of the file.
func WriteCheckpoint(path string, ts []Tensor) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	z := &zipWriter{f: f, w: bufio.NewWriterSize(f, 1<<20)}
	fail := func(err error) (int64, error) { f.Close(); return 0, err }
	const dir = "archive/"
	pkl := StateDict(ts)
	small := []struct {
		name string
		data string
	}{
		{"data.pkl", string(pkl.Data)},
		{".format_version", "1"},
		{".storage_alignment", "64"},
		{"byteorder", "little"},
	}
	for _, m := range small {
		if err := z.member(dir+m.name, []byte(m.data), int64(len(m.data))); err != nil {
			return fail(err)
		}
	}
	for i, t := range ts {
		size := 4 * t.Numel()
		if err := z.member(fmt.Sprintf("%sdata/%d", dir, i), tensorHead(i, int(min(size, HeadBytes))), size); err != nil {
			return fail(err)
		}
	}
	for _, m := range []struct{ name, data string }{{"version", "3\n"}, {".data/serialization_id", "1234567890123456789012345678901234567890"}} {
		if err := z.member(dir+m.name, []byte(m.data), int64(len(m.data))); err != nil {
			return fail(err)
		}
	}
	if err := z.close(); err != nil {
		return 0, err
	}
	return z.off, nil
}

// WriteBigBytes writes at path a raw protocol 4 pickle of
// {'blob': <n bytes>}, the bytes in one BINBYTES8 opcode outside any frame
// (CPython writes large byte strings out of frames, with BINBYTES below
// 4 GiB), left as a hole of the sparse file. It returns the size of the
// file.
func WriteBigBytes(path string, n int64) (int64, error) {
	w := newWriter(4)
	w.emptyDict()
	w.str("blob")
	w.commitFrame()
	w.op(binary.LittleEndian.AppendUint64([]byte{0x8e}, uint64(n))...) // BINBYTES8
	// After the payload: MEMOIZE, SETITEM, STOP, too short for a frame.
	tail := []byte{0x94, 's', '.'}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	if _, err = f.Write(w.out); err == nil {
		if _, err = f.Seek(n, io.SeekCurrent); err == nil {
			_, err = f.Write(tail)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return int64(len(w.out)) + n + int64(len(tail)), nil
}

// npy returns a .npy file of a float32 vector of n elements.
func npy(n int, seed uint64) []byte {
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }", n)
	total := 10 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))
	b = append(b, header...)
	r := newRand(seed)
	for range n {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(r.normal())))
	}
	return b
}

// smallPickle is pickle.dumps of a training configuration at protocol 4
// (ints, floats, strings, a list): what small .pkl files of a model
// repository hold.
func smallPickle(i int) []byte {
	w := newWriter(4)
	r := newRand(uint64(i))
	w.dict(6, func(j int) {
		switch j {
		case 0:
			w.str("model")
			w.str(fmt.Sprintf("run-%05d", i))
		case 1:
			w.str("lr")
			w.float(float64(r.next()%1000) / 1e5)
		case 2:
			w.str("epochs")
			w.int(int64(r.next() % 100))
		case 3:
			w.str("layers")
			w.list(8+i%24, func(int) { w.int(int64(r.next() % 4096)) })
		case 4:
			w.str("dropout")
			w.float(0.125)
		case 5:
			w.str("tokenizer")
			w.str("bpe")
		}
	})
	return w.finish()
}

// smallText is a model card or a configuration file.
func smallText(i int) (string, []byte) {
	if i%2 == 0 {
		cfg := map[string]any{"architectures": []string{"GPT2LMHeadModel"}, "n_layer": 12 + i%12, "n_embd": 768,
			"vocab_size": 50257, "torch_dtype": "float32", "run": i}
		b, _ := json.MarshalIndent(cfg, "", "  ")
		return "config.json", b
	}
	return "README.md", []byte(fmt.Sprintf("# Model %d\n\nA small model fine-tuned for benchmarks.\n\n%s", i,
		strings.Repeat("It reads text and writes text. ", 20+i%40)))
}

// WriteSmallFiles writes n small files under dir, 100 per folder: 40%
// pickles (a few hundred bytes), 30% .npy arrays (1 to 8 KiB), 30% text.
func WriteSmallFiles(dir string, n int) error {
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
		}
		var name string
		var data []byte
		switch i % 10 {
		case 0, 1, 2, 3:
			name, data = "state.pkl", smallPickle(i)
		case 4, 5, 6:
			name, data = "weights.npy", npy(256+(i%8)*256, uint64(i))
		default:
			name, data = smallText(i)
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("%05d-%s", i, name)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
