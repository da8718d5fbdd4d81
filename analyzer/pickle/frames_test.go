package pickle

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/finding"
)

// frameEvasion is a protocol 4 stream whose last opcode in its frame, a
// BINUNICODE, runs past the frame's end. Held whole (pickle.loads) it reads
// a string, then a BINBYTES that swallows the payload, then STOP; read by
// the C unpickler from io.BytesIO (torch.load of a zip checkpoint) the tail
// of the frame is dropped, the string is read from after the frame, and the
// payload runs: posix.system('id').
func frameEvasion() []byte {
	ops := []byte("\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R")
	const k, l = 5, 20
	frame := append([]byte("}X"), binary.LittleEndian.AppendUint32(nil, l)...)
	frame = append(frame, bytes.Repeat([]byte("T"), k)...)
	var b bytes.Buffer
	b.WriteString("\x80\x04\x95")
	b.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(frame))))
	b.Write(frame)
	b.Write(bytes.Repeat([]byte("a"), l-k))
	b.WriteByte('B')
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(ops))))
	b.Write(ops)
	b.WriteByte('.')
	return b.Bytes()
}

func TestFrameReaders(t *testing.T) {
	data := frameEvasion()
	tr, err := Run(t.Context(), bytes.NewReader(data), int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	imports := map[Reader][]string{}
	for _, st := range tr.Streams {
		for _, im := range st.Imports {
			imports[st.Reader] = append(imports[st.Reader], im.Resolved)
		}
	}
	if len(imports[ReadMemory]) != 0 || strings.Join(imports[ReadFile], ",") != "posix.system" || len(imports[ReadPython]) != 0 {
		t.Errorf("imports by reader: %v", imports)
	}
	fs := New(DefaultPolicy()).Findings(tr, finding.Location{Path: "x.pkl"})
	var rules []string
	for _, f := range fs {
		rules = append(rules, f.Rule)
		if f.Rule == finding.PickleProcess && !strings.Contains(f.Message, "without peek") {
			t.Errorf("the finding does not say which reader sees it: %s", f.Message)
		}
	}
	for _, want := range []string{finding.PickleProcess, finding.PickleFrameMismatch} {
		if !strings.Contains(strings.Join(rules, " "), want) {
			t.Errorf("want %s, got %v", want, rules)
		}
	}
}

// TestTruncatedFrame checks a stream cut short inside its first frame, with
// no STOP: a pickle all the same, whose frame the pure-Python unpickler runs.
func TestTruncatedFrame(t *testing.T) {
	body := []byte("\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R")
	data := append([]byte("\x80\x04\x95"), binary.LittleEndian.AppendUint64(nil, uint64(len(body)+40))...)
	data = append(data, body...)
	if !Sniff(data, false) {
		t.Fatal("a PROTO and FRAME stream cut short is not sniffed as a pickle")
	}
	fs := scanBytes(t, data)
	var process, malformed bool
	for _, f := range fs {
		process = process || f.Rule == finding.PickleProcess
		malformed = malformed || f.Rule == finding.PickleMalformed
	}
	if !process || !malformed {
		t.Errorf("want the payload and the truncation reported, got %v", fs)
	}
}

// TestNestedFrame checks a FRAME inside a frame: the pure-Python unpickler
// raises there, the C readers go on.
func TestNestedFrame(t *testing.T) {
	inner := append([]byte{0x95}, binary.LittleEndian.AppendUint64(nil, 1)...)
	inner = append(inner, 'N')
	body := append([]byte("N"), inner...)
	body = append(body, '.')
	data := append([]byte("\x80\x04\x95"), binary.LittleEndian.AppendUint64(nil, uint64(len(body)))...)
	data = append(data, body...)
	found := false
	for _, f := range scanBytes(t, data) {
		found = found || f.Rule == finding.PickleFrameMismatch
	}
	if !found {
		t.Error("a frame inside a frame is not reported")
	}
}
