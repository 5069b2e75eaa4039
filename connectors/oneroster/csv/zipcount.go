package csv

import (
	"encoding/binary"
	"errors"
	"io"
)

// DefaultMaxEntries is how many entries a zip may have before it is refused
// (package.too_many_entries): a OneRoster package holds about twenty files, and Go's zip
// reader keeps every entry of the central directory in memory, so the count is checked
// from the end-of-central-directory record before the directory is read.
const DefaultMaxEntries = 1000

// zipEntryCount reads the number of entries a zip declares, from its end-of-central-directory
// record (and the ZIP64 one when present), without reading the central directory.
func zipEntryCount(r io.ReaderAt, size int64) (uint64, error) {
	const eocdLen, maxComment = 22, 1<<16 - 1
	n := min(size, eocdLen+maxComment)
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-n); err != nil && err != io.EOF {
		return 0, err
	}
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) != 0x06054b50 {
			continue
		}
		count := uint64(binary.LittleEndian.Uint16(buf[i+10:]))
		if count != 0xFFFF || i < 20 || binary.LittleEndian.Uint32(buf[i-20:]) != 0x07064b50 {
			return count, nil
		}
		// ZIP64: the locator before the record points at the ZIP64 end of central directory.
		off := int64(binary.LittleEndian.Uint64(buf[i-20+8:]))
		rec := make([]byte, 56)
		if off < 0 || off+56 > size {
			return 0, errors.New("bad zip64 locator")
		}
		if _, err := r.ReadAt(rec, off); err != nil {
			return 0, err
		}
		if binary.LittleEndian.Uint32(rec) != 0x06064b50 {
			return 0, errors.New("bad zip64 record")
		}
		return binary.LittleEndian.Uint64(rec[32:]), nil
	}
	return 0, errors.New("no end of central directory")
}
