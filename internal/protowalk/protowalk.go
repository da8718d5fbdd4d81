// Package protowalk walks protobuf messages field by field with protowire,
// for analyzers that check a few fields of large messages (ONNX models,
// TensorFlow graphs) without generated code or loading the whole message.
package protowalk

import "google.golang.org/protobuf/encoding/protowire"

// Fields calls f for each field of the message b: the field number, the
// wire type and, for a length-delimited field, its bytes, or for a varint
// its value. It stops at the first malformed field, or at f's first error.
func Fields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(b) > 0 {
		num, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			return protowire.ParseError(k)
		}
		b = b[k:]
		var v []byte
		var n uint64
		switch typ {
		case protowire.VarintType:
			n, k = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, k = protowire.ConsumeBytes(b)
		default:
			k = protowire.ConsumeFieldValue(num, typ, b)
		}
		if k < 0 {
			return protowire.ParseError(k)
		}
		b = b[k:]
		if err := f(num, typ, v, n); err != nil {
			return err
		}
	}
	return nil
}
