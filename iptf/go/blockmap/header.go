package blockmap

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

// errNoData means the block's prefix holds no UnixFS Data field.
var errNoData = errors.New("no unixfs data in block prefix")

// dataSpan finds the UnixFS file bytes inside an encoded dag-pb block (or its prefix):
// the PBNode's Data field (1) holds a UnixFS message whose Data field (2) holds the bytes.
// It returns their offset in the block and their length.
func dataSpan(block []byte) (offset, length int, err error) {
	pbStart, pbLen, err := fieldSpan(block, 1)
	if err != nil {
		return 0, 0, err
	}
	end := min(pbStart+pbLen, len(block))
	inner, innerLen, err := fieldSpan(block[pbStart:end], 2)
	if err != nil {
		return 0, 0, err
	}
	return pbStart + inner, innerLen, nil
}

// fieldSpan scans a protobuf message for the first length-delimited field num and returns
// where its payload starts and how long it is. The payload may run past the end of msg
// (msg can be a prefix); the fields before it must be whole.
func fieldSpan(msg []byte, num protowire.Number) (start, length int, err error) {
	pos := 0
	for pos < len(msg) {
		n, typ, tagLen := protowire.ConsumeTag(msg[pos:])
		if tagLen < 0 {
			return 0, 0, errNoData
		}
		pos += tagLen
		if n == num && typ == protowire.BytesType {
			v, vLen := protowire.ConsumeVarint(msg[pos:])
			if vLen < 0 {
				return 0, 0, errNoData
			}
			return pos + vLen, int(v), nil
		}
		skip := protowire.ConsumeFieldValue(n, typ, msg[pos:])
		if skip < 0 {
			return 0, 0, errNoData
		}
		pos += skip
	}
	return 0, 0, errNoData
}
