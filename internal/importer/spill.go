package importer

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// opSink keeps a planner's ops: in memory (memOps) or spilled to temp files (spillOps).
type opSink interface {
	add(op planned) error
	// withdraw withdraws the op planned for kind/id, if any (its row was rejected after it
	// was read).
	withdraw(kind roster.Kind, id string)
	// withdrawSynth withdraws the synthesised role puts planned so far for user.
	withdrawSynth(user string)
	// each calls fn with kind's ops that are not withdrawn, in the order they were added.
	each(kind roster.Kind, fn func(*planned) error) error
	close() error
}

// memOps keeps every op in memory, indexed by id so that a rejected row withdraws its op.
type memOps struct {
	ops   map[roster.Kind][]planned
	at    map[roster.Kind]map[string]int // op index by id, to withdraw a rejected row
	synth map[string][]int               // OneRoster 1.1: user → indexes of its synthesised role ops
}

func newMemOps() *memOps {
	m := &memOps{ops: map[roster.Kind][]planned{}, at: map[roster.Kind]map[string]int{}, synth: map[string][]int{}}
	for _, k := range roster.Kinds {
		m.at[k] = map[string]int{}
	}
	return m
}

func (m *memOps) add(op planned) error {
	m.ops[op.Kind] = append(m.ops[op.Kind], op)
	i := len(m.ops[op.Kind]) - 1
	m.at[op.Kind][op.ID] = i
	if synthesised(&op.Op) {
		m.synth[op.User] = append(m.synth[op.User], i)
	}
	return nil
}

func (m *memOps) withdraw(kind roster.Kind, id string) {
	if i, ok := m.at[kind][id]; ok {
		m.ops[kind][i].cat = catNone
		delete(m.at[kind], id)
	}
}

func (m *memOps) withdrawSynth(user string) {
	for _, i := range m.synth[user] {
		m.withdraw(roster.KindRole, m.ops[roster.KindRole][i].ID)
	}
	delete(m.synth, user)
}

func (m *memOps) each(kind roster.Kind, fn func(*planned) error) error {
	for i := range m.ops[kind] {
		if op := &m.ops[kind][i]; op.cat != catNone {
			if err := fn(op); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memOps) close() error { return nil }

// spillOps writes each op to its kind's gzipped temp file as it is planned and keeps in
// memory only the withdrawals (rejected rows: few). Each op carries its sequence number, so
// that a withdrawal applies to the ops planned before it, as memOps's does.
type spillOps struct {
	dir       string
	files     map[roster.Kind]*spillFile
	seq       uint64
	withdrawn map[roster.Kind]map[string]uint64 // id → sequence at its withdrawal
	synthOff  map[string]uint64                 // user → sequence at its withdrawal
	closed    bool
}

type spillFile struct {
	f  *os.File
	zw *gzip.Writer
	bw *bufio.Writer
	// sealed: the writer is flushed and closed; the file is only read from now on.
	sealed bool
}

func newSpillOps(dir string) (*spillOps, error) {
	d, err := os.MkdirTemp(dir, "plan-*")
	if err != nil {
		return nil, err
	}
	return &spillOps{dir: d, files: map[roster.Kind]*spillFile{}, withdrawn: map[roster.Kind]map[string]uint64{}, synthOff: map[string]uint64{}}, nil
}

func (s *spillOps) add(op planned) error {
	sf := s.files[op.Kind]
	if sf == nil {
		f, err := os.CreateTemp(s.dir, string(op.Kind)+"-*.ops.gz")
		if err != nil {
			return err
		}
		zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
		sf = &spillFile{f: f, zw: zw, bw: bufio.NewWriterSize(zw, 64<<10)}
		s.files[op.Kind] = sf
	}
	if sf.sealed {
		return fmt.Errorf("plan spill: %s op added after the plan was read", op.Kind)
	}
	s.seq++
	return writeOp(sf.bw, s.seq, &op)
}

func (s *spillOps) withdraw(kind roster.Kind, id string) {
	if s.withdrawn[kind] == nil {
		s.withdrawn[kind] = map[string]uint64{}
	}
	s.withdrawn[kind][id] = s.seq + 1
}

func (s *spillOps) withdrawSynth(user string) { s.synthOff[user] = s.seq + 1 }

func (s *spillOps) each(kind roster.Kind, fn func(*planned) error) error {
	sf := s.files[kind]
	if sf == nil {
		return nil
	}
	if s.closed {
		return errors.New("plan spill: read after close")
	}
	if !sf.sealed {
		sf.sealed = true
		if err := sf.bw.Flush(); err != nil {
			return err
		}
		if err := sf.zw.Close(); err != nil {
			return err
		}
	}
	f, err := os.Open(sf.f.Name())
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return fmt.Errorf("plan spill %s: %w", kind, err)
	}
	br := bufio.NewReaderSize(zr, 64<<10)
	for {
		var op planned
		seq, err := readOp(br, &op)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("plan spill %s: %w", kind, err)
		}
		if w, ok := s.withdrawn[kind][op.ID]; ok && seq < w {
			continue
		}
		if w, ok := s.synthOff[op.User]; ok && seq < w && synthesised(&op.Op) {
			continue
		}
		if err := fn(&op); err != nil {
			return err
		}
	}
}

func (s *spillOps) close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	for _, sf := range s.files {
		sf.f.Close()
	}
	return os.RemoveAll(s.dir)
}

// An op on disk: its sequence number and category, then its fields, each a length and its
// bytes.
func writeOp(w *bufio.Writer, seq uint64, op *planned) error {
	var b [binary.MaxVarintLen64]byte
	w.Write(b[:binary.PutUvarint(b[:], seq)])
	w.WriteByte(byte(op.cat))
	for _, f := range [...]string{string(op.Op.Op), string(op.Kind), op.ID, op.Hash, op.Role, op.User, op.School} {
		w.Write(b[:binary.PutUvarint(b[:], uint64(len(f)))])
		w.WriteString(f)
	}
	w.Write(b[:binary.PutUvarint(b[:], uint64(len(op.Data)))])
	_, err := w.Write(op.Data)
	return err
}

func readOp(r *bufio.Reader, op *planned) (uint64, error) {
	seq, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, err // io.EOF at the end
	}
	c, err := r.ReadByte()
	if err != nil {
		return 0, io.ErrUnexpectedEOF
	}
	op.cat = category(c)
	var fields [7]string
	for i := range fields {
		b, err := readField(r)
		if err != nil {
			return 0, err
		}
		fields[i] = string(b)
	}
	op.Op.Op, op.Kind, op.ID, op.Hash, op.Role, op.User, op.School = pthv.OpKind(fields[0]), roster.Kind(fields[1]), fields[2], fields[3], fields[4], fields[5], fields[6]
	b, err := readField(r)
	if err != nil {
		return 0, err
	}
	if len(b) > 0 {
		op.Data = b
	}
	return seq, nil
}

// maxField bounds one field of a spilled op (a record's JSON is far smaller).
const maxField = 16 << 20

func readField(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	if n > maxField {
		return nil, fmt.Errorf("a field of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return b, nil
}
