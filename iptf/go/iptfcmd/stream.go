package iptfcmd

import (
	"bytes"
	"fmt"
	"io"

	cmds "github.com/ipfs/go-ipfs-cmds"
	cmdshttp "github.com/ipfs/go-ipfs-cmds/http"
)

// streamChunk is how many bytes of a streamed answer go out in one write.
const streamChunk = 1 << 20

// The command layer sends an io.Reader over HTTP 4 KiB at a time with a flush after each:
// for a local file, `cat` measured 200-250 MB/s with half of the node's CPU in write system
// calls. Over HTTP, emitStream starts the same streamed answer (the same headers and body)
// with an empty reader, then emits the bytes in chunks of streamChunk, which the commands'
// encoders below write as they are, one write and one flush per chunk.
func emitStream(res cmds.ResponseEmitter, r io.Reader) error {
	if _, overHTTP := res.(cmdshttp.ResponseEmitter); !overHTTP {
		return res.Emit(r) // in-process: the caller's emitter (and kubo's PostRun) take a reader
	}
	if err := res.Emit(bytes.NewReader(nil)); err != nil {
		return err
	}
	buf := make([]byte, streamChunk)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if err := res.Emit(rawChunk(buf[:n])); err != nil {
				return err
			}
		}
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return nil
		default:
			return err
		}
	}
}

// rawChunk is a piece of a streamed answer.
type rawChunk []byte

// streamsInChunks lets c's answers carry rawChunks, written as they are whatever encoding the
// client asked for (the answer is a byte stream, as with an io.Reader).
func streamsInChunks(c *cmds.Command) {
	if c.Encoders == nil {
		c.Encoders = cmds.EncoderMap{}
	}
	for _, enc := range []cmds.EncodingType{cmds.JSON, cmds.XML, cmds.Text, cmds.TextNewline} {
		c.Encoders[enc] = func(*cmds.Request) func(io.Writer) cmds.Encoder {
			return func(w io.Writer) cmds.Encoder { return chunkWriter{w} }
		}
	}
}

type chunkWriter struct{ w io.Writer }

func (c chunkWriter) Encode(v any) error {
	chunk, ok := v.(rawChunk)
	if !ok {
		return fmt.Errorf("a byte stream cannot carry a %T", v)
	}
	_, err := c.w.Write(chunk)
	return err
}
