package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
)

// jsonlSource reads JSON Lines, one object per line, with no limit on the
// length of a line. Lines of only white space are skipped (but counted), and
// a UTF-8 byte order mark at the start of the file is ignored.
type jsonlSource struct {
	path string
	br   *bufio.Reader
	gz   *gzip.Reader
	buf  []byte
	line int
	dec  rowDecoder
}

// newJSONLSource reads JSON Lines from br, decompressing first when the
// stream starts with the gzip magic bytes, whatever the file is called.
func newJSONLSource(path string, br *bufio.Reader) (*jsonlSource, error) {
	s := &jsonlSource{path: path, br: br}
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, &Error{Path: path, Msg: "bad gzip header", Err: err}
		}
		s.gz = gz
		s.br = bufio.NewReaderSize(gz, 1<<16)
	}
	return s, nil
}

func (s *jsonlSource) rows() bool { return false }

func (s *jsonlSource) close() error {
	if s.gz != nil {
		return s.gz.Close()
	}
	return nil
}

// readLine returns the next line, terminator included (JSON treats it as
// white space). The slice is valid until the next call.
func (s *jsonlSource) readLine() ([]byte, error) {
	s.buf = s.buf[:0]
	for {
		chunk, err := s.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			s.buf = append(s.buf, chunk...)
			continue
		}
		if len(s.buf) > 0 {
			s.buf = append(s.buf, chunk...)
			chunk = s.buf
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if len(chunk) == 0 && err != nil {
			return nil, io.EOF
		}
		s.line++
		return chunk, nil
	}
}

func (s *jsonlSource) next(r *row) error {
	for {
		line, err := s.readLine()
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		if err != nil {
			return &Error{Path: s.path, Line: s.line + 1, Msg: "read failed", Err: err}
		}
		if s.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return s.decode(line, r)
	}
}

func (s *jsonlSource) decode(line []byte, r *row) error {
	*r = row{line: s.line}
	err := s.dec.decode(line, r)
	switch e := err.(type) {
	case nil:
		return nil
	case *fieldTypeError:
		return &Error{Path: s.path, Line: s.line, Field: e.field, Msg: e.msg}
	}
	return &Error{Path: s.path, Line: s.line, Msg: err.Error()}
}
