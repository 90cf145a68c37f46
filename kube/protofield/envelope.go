package protofield

import (
	"bytes"
	"reflect"

	"google.golang.org/protobuf/encoding/protowire"
	"k8s.io/apimachinery/pkg/runtime"
)

// prefix is the magic number that starts every object Kubernetes encodes
// as protobuf (apimachinery's protobuf serializer writes and recognises
// it).
var prefix = []byte("k8s\x00")

var unknownRaw = Number(reflect.TypeFor[runtime.Unknown](), "Raw")

// Unwrap reads Kubernetes' protobuf envelope (magic number, then a
// runtime.Unknown) around an object: its type, encoding and the object's
// bytes, which alias data where apimachinery's serializer copies them.
// ok is false for data that does not start with the magic number (JSON,
// say); the envelope's fields are decoded by runtime.Unknown's own
// Unmarshal.
func Unwrap(data []byte) (unk runtime.Unknown, raw []byte, ok bool, err error) {
	if !bytes.HasPrefix(data, prefix) {
		return unk, nil, false, nil
	}
	err = Runs(data[len(prefix):], func(n protowire.Number) bool { return n == unknownRaw }, func(f Field) error {
		raw = f.Value
		return nil
	}, unk.Unmarshal)
	return unk, raw, true, err
}

// Protobuf says whether an envelope's object is itself protobuf, the only
// encoding Unwrap's callers decode: no content encoding, and a content
// type that is protobuf or, as the API server leaves it, empty.
func Protobuf(unk *runtime.Unknown) bool {
	return unk.ContentEncoding == "" && (unk.ContentType == "" || unk.ContentType == runtime.ContentTypeProtobuf)
}
