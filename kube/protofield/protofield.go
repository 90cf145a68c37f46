// Package protofield walks the top level of a Kubernetes protobuf message
// so that a caller can hand its fields, one at a time or in runs, to the
// types' own generated Unmarshal. It reads the wire format with the
// protobuf library's reader and field numbers from the struct tags that
// go-to-protobuf writes; every byte of a field's value is left to the
// generated code, so nothing the Kubernetes types model is parsed here.
//
// The gain is control over what is decoded and where: one list item at a
// time into the same value (kube/metrics), or a watch event's object
// without the copies and the fields nobody reads (kube/podwatch).
package protofield

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field is one field of a message as it is on the wire.
type Field struct {
	Num protowire.Number
	// Value is a length-delimited field's bytes (they alias the message);
	// nil for the other wire types.
	Value []byte
	// Start and End are where the whole field, tag included, lies in the
	// message.
	Start, End int
}

// Walk hands every field of a protobuf message to fn, in order.
func Walk(raw []byte, fn func(Field) error) error {
	for pos := 0; pos < len(raw); {
		num, typ, n := protowire.ConsumeTag(raw[pos:])
		if n < 0 {
			return protowire.ParseError(n)
		}
		f := Field{Num: num, Start: pos}
		pos += n
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(raw[pos:])
			if m < 0 {
				return protowire.ParseError(m)
			}
			f.Value, pos = v, pos+m
		} else {
			m := protowire.ConsumeFieldValue(num, typ, raw[pos:])
			if m < 0 {
				return protowire.ParseError(m)
			}
			pos += m
		}
		f.End = pos
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// Each hands the bytes of every length-delimited field numbered num to
// item.
func Each(raw []byte, num protowire.Number, item func([]byte) error) error {
	return Walk(raw, func(f Field) error {
		if f.Num != num || f.Value == nil {
			return nil
		}
		return item(f.Value)
	})
}

// Runs hands raw to unmarshal in runs of consecutive fields, leaving out
// the fields for which own returns true and handing each of those to
// field instead (field may be nil to drop them). For a message whose
// generated Unmarshal merges, as go-to-protobuf's does (scalars are set,
// repeated fields and maps appended to), this decodes what one Unmarshal
// of raw without those fields would.
func Runs(raw []byte, own func(protowire.Number) bool, field func(Field) error, unmarshal func([]byte) error) error {
	start := 0
	err := Walk(raw, func(f Field) error {
		if !own(f.Num) {
			return nil
		}
		if f.Start > start {
			if err := unmarshal(raw[start:f.Start]); err != nil {
				return err
			}
		}
		start = f.End
		if field == nil {
			return nil
		}
		return field(f)
	})
	if err != nil {
		return err
	}
	if start < len(raw) {
		return unmarshal(raw[start:])
	}
	return nil
}

// Number reads a field's number from the `protobuf:"bytes,2,rep,…"` tag
// that go-to-protobuf writes on every generated Kubernetes type. A name
// without such a tag is a programming error, found at start-up.
func Number(t reflect.Type, name string) protowire.Number {
	f, ok := t.FieldByName(name)
	if !ok {
		panic(fmt.Sprintf("%s has no field %s", t, name))
	}
	parts := strings.Split(f.Tag.Get("protobuf"), ",")
	if len(parts) < 2 {
		panic(fmt.Sprintf("%s.%s has no protobuf tag", t, name))
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || !protowire.Number(n).IsValid() {
		panic(fmt.Sprintf("%s.%s: protobuf tag %q", t, name, f.Tag.Get("protobuf")))
	}
	return protowire.Number(n)
}

// Numbers is Number for several fields of one type, as a set.
func Numbers(t reflect.Type, names ...string) map[protowire.Number]bool {
	set := make(map[protowire.Number]bool, len(names))
	for _, name := range names {
		set[Number(t, name)] = true
	}
	return set
}
