package iptfcmd

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	cmds "github.com/ipfs/go-ipfs-cmds"
	cmdshttp "github.com/ipfs/go-ipfs-cmds/http"
)

// failAfter gives its bytes, then an error (a block that could not be fetched mid-stream).
type failAfter struct {
	r   io.Reader
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// serve answers /api/v0/asreader and /api/v0/inchunks with the same bytes (and, when failure is
// set, the same error after them), one as the command layer's io.Reader, one through emitStream.
func serve(t *testing.T, body []byte, failure error) *httptest.Server {
	t.Helper()
	source := func() io.Reader {
		if failure == nil {
			return bytes.NewReader(body)
		}
		return &failAfter{r: bytes.NewReader(body), err: failure}
	}
	inChunks := &cmds.Command{Run: func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
		if _, overHTTP := res.(cmdshttp.ResponseEmitter); !overHTTP {
			t.Errorf("the command got a %T, not the HTTP emitter: the stream would not go in chunks", res)
		}
		return emitStream(res, source())
	}}
	streamsInChunks(inChunks)
	root := &cmds.Command{Subcommands: map[string]*cmds.Command{
		"asreader": {Run: func(req *cmds.Request, res cmds.ResponseEmitter, env cmds.Environment) error {
			return res.Emit(source())
		}},
		"inchunks": inChunks,
	}}
	cfg := cmdshttp.NewServerConfig()
	cfg.APIPath = "/api/v0"
	srv := httptest.NewServer(cmdshttp.NewHandler(nil, root, cfg))
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status      int
	header      http.Header
	body        []byte
	streamError string
}

func post(t *testing.T, url string) answer {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	h := resp.Header.Clone()
	h.Del("Date")
	return answer{resp.StatusCode, h, body, resp.Trailer.Get("X-Stream-Error")}
}

// A stream sent in chunks is, on the wire, the answer the command layer gives for a reader:
// the same status, headers, bytes, and stream error in the trailer.
func TestAStreamInChunksIsTheReadersAnswer(t *testing.T) {
	body := make([]byte, 3*streamChunk+12345)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	for _, failure := range []error{nil, errors.New("block QmX not found")} {
		srv := serve(t, body, failure)
		want := post(t, srv.URL+"/api/v0/asreader")
		got := post(t, srv.URL+"/api/v0/inchunks")
		if got.status != want.status || !bytes.Equal(got.body, want.body) || got.streamError != want.streamError {
			t.Fatalf("failure %v: in chunks %d, %d bytes, stream error %q; as a reader %d, %d bytes, %q",
				failure, got.status, len(got.body), got.streamError, want.status, len(want.body), want.streamError)
		}
		if !bytes.Equal(got.body, body) {
			t.Fatalf("failure %v: the stream's bytes differ from the source's", failure)
		}
		for name := range want.header {
			if got.header.Get(name) != want.header.Get(name) {
				t.Errorf("failure %v: header %s is %q in chunks, %q as a reader", failure, name,
					got.header.Get(name), want.header.Get(name))
			}
		}
		if failure != nil && got.streamError == "" {
			t.Fatalf("the failure did not reach the trailer")
		}
	}
}
