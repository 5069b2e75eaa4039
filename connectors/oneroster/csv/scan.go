package csv

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"unicode/utf8"
)

// MaxFieldBytes is the longest field the scanner accepts (64 KiB). A longer field is a row
// error, never a crash or an unbounded allocation.
const MaxFieldBytes = 64 << 10

// maxLineBytes bounds the bytes buffered for one physical line. A longer line is a row
// error and the scanner skips to the next line feed without buffering it.
const maxLineBytes = 4 << 20

var bom = []byte{0xEF, 0xBB, 0xBF}

// rowProblem is a defect of one physical line found by the scanner.
type rowProblem struct {
	code   Code
	column int // 0-based field index, or -1 when the line as a whole is at fault
	msg    string
}

// scanner splits a OneRoster CSV file into records, one per physical line, following RFC
// 4180 with the OneRoster restriction that no field contains a line break. It never holds
// more than one line in memory. Field slices returned by next are valid until the next call.
type scanner struct {
	br      *bufio.Reader
	line    int // physical line number of the record last returned (1-based)
	long    []byte
	fields  [][]byte
	unq     []byte
	sawLF   bool // a line ended in a bare LF
	sawCRLF bool // a line ended in CRLF
	hadBOM  bool
	started bool
	prob    []rowProblem
}

func newScanner(r io.Reader) *scanner {
	return &scanner{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the fields of the next record. Problems found on the line are in s.prob; a
// line with a problem still returns whatever fields could be split so that the caller can
// report the sourcedId. It returns io.EOF after the last record, and any other error for a
// failure of the underlying reader.
func (s *scanner) next() ([][]byte, error) {
	s.prob = s.prob[:0]
	raw, err := s.readLine()
	if err != nil {
		return nil, err
	}
	s.line++
	if !s.started {
		s.started = true
		if bytes.HasPrefix(raw, bom) {
			s.hadBOM = true
			raw = raw[len(bom):]
		}
	}
	s.split(raw)
	return s.fields, nil
}

// rowBytes estimates the length of the file's rows from the lines already buffered after
// the current one (64 when no line ends there), and never below 32 bytes.
func (s *scanner) rowBytes() int64 {
	b, _ := s.br.Peek(s.br.Buffered()) // never fills: the current line stays valid
	if n := bytes.Count(b, []byte{'\n'}); n > 0 {
		return max(32, int64(len(b)/n))
	}
	return 64
}

// readLine returns one physical line without its line ending, recording which ending it had.
func (s *scanner) readLine() ([]byte, error) {
	line, err := s.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		s.long = append(s.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = s.br.ReadSlice('\n')
			if len(s.long)+len(line) > maxLineBytes {
				// Skip the rest of the line without keeping it.
				for errors.Is(err, bufio.ErrBufferFull) {
					_, err = s.br.ReadSlice('\n')
				}
				if err != nil && err != io.EOF {
					return nil, err
				}
				s.long = s.long[:0]
				s.prob = append(s.prob, rowProblem{code: CodeFieldTooLong, column: -1,
					msg: "the line is longer than 4 MiB; it was skipped"})
				return s.long, nil
			}
			s.long = append(s.long, line...)
		}
		line = s.long
	}
	if err == io.EOF {
		if len(line) == 0 {
			return nil, io.EOF
		}
		err = nil // last line without a line ending
	}
	if err != nil {
		return nil, err
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
			s.sawCRLF = true
		} else {
			s.sawLF = true
		}
	}
	return line, nil
}

// byteClass sorts bytes for the plain-line path of split: 1 for a comma, 2 for a byte that
// needs the general path (a quote, a carriage return, anything not ASCII), 0 for the rest.
var byteClass = func() (c [256]uint8) {
	c[','] = 1
	c['"'], c['\r'] = 2, 2
	for b := 0x80; b < 0x100; b++ {
		c[b] = 2
	}
	return c
}()

// split cuts one line into fields. Most lines of an export are plain ASCII without quotes:
// those are cut in one pass over the bytes, every field a slice of the line; any other line
// takes the general path.
func (s *scanner) split(line []byte) {
	s.fields = s.fields[:0]
	start := 0
	for i, b := range line {
		switch byteClass[b] {
		case 0:
			continue
		case 1:
			s.fields = append(s.fields, line[start:i])
			start = i + 1
			continue
		}
		s.splitGeneral(line)
		return
	}
	if start == len(line) && start > 0 {
		s.fields = append(s.fields, nil) // a trailing comma: one more, empty field
	} else {
		s.fields = append(s.fields, line[start:])
	}
	if len(line) > MaxFieldBytes {
		for col := range s.fields {
			s.checkLen(col)
		}
	}
}

// splitGeneral cuts any line into fields. Unquoted fields are slices of the line; quoted
// fields are unescaped into s.unq, which is grown once per line so earlier slices stay valid.
func (s *scanner) splitGeneral(line []byte) {
	s.fields = s.fields[:0]
	if cap(s.unq) < len(line) {
		s.unq = make([]byte, 0, len(line)+len(line)/4)
	}
	s.unq = s.unq[:0]
	if !utf8.Valid(line) {
		s.prob = append(s.prob, rowProblem{code: CodeNotUTF8, column: -1})
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		s.prob = append(s.prob, rowProblem{code: CodeLineBreak, column: -1,
			msg: "the line contains a carriage return inside it; fields may not contain line breaks"})
	}
	i := 0
	for {
		col := len(s.fields)
		if i < len(line) && line[i] == '"' {
			start := len(s.unq)
			i++
			closed := false
			for i < len(line) {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 {
					s.unq = append(s.unq, line[i:]...)
					i = len(line)
					break
				}
				s.unq = append(s.unq, line[i:i+j]...)
				i += j + 1
				if i < len(line) && line[i] == '"' {
					s.unq = append(s.unq, '"')
					i++
					continue
				}
				closed = true
				break
			}
			s.fields = append(s.fields, s.unq[start:len(s.unq):len(s.unq)])
			if !closed {
				s.prob = append(s.prob, rowProblem{code: CodeQuote, column: col,
					msg: "a quoted field is not closed before the end of the line (fields may not contain line breaks)"})
				s.checkLen(col)
				return
			}
			s.checkLen(col)
			if i == len(line) {
				return
			}
			if line[i] != ',' {
				s.prob = append(s.prob, rowProblem{code: CodeQuote, column: col,
					msg: "text follows the closing quote of a quoted field"})
				// Resynchronise at the next comma.
				k := bytes.IndexByte(line[i:], ',')
				if k < 0 {
					return
				}
				i += k
			}
			i++ // past the comma
			if i == len(line) {
				s.fields = append(s.fields, nil)
				return
			}
			continue
		}
		j := bytes.IndexByte(line[i:], ',')
		var f []byte
		if j < 0 {
			f = line[i:]
		} else {
			f = line[i : i+j]
		}
		if bytes.IndexByte(f, '"') >= 0 {
			s.prob = append(s.prob, rowProblem{code: CodeQuote, column: col,
				msg: `a double quote appears inside a field that is not quoted; quote the field and write the quote as ""`})
		}
		s.fields = append(s.fields, f)
		s.checkLen(col)
		if j < 0 {
			return
		}
		i += j + 1
		if i == len(line) {
			s.fields = append(s.fields, nil)
			return
		}
	}
}

func (s *scanner) checkLen(col int) {
	if len(s.fields[col]) > MaxFieldBytes {
		s.prob = append(s.prob, rowProblem{code: CodeFieldTooLong, column: col,
			msg: "the field is longer than 64 KiB"})
		s.fields[col] = nil
	}
}
