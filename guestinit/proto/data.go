package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DataChunk is the largest Data frame a DataWriter sends: big enough that
// framing costs little, small enough to keep a stream's window moving.
const DataChunk = 256 << 10

// ErrDataCut is a data stream that ended without its DataEnd frame.
var ErrDataCut = errors.New("data stream ended early")

// DataReader reads the payloads of Data frames from r as one byte stream,
// which ends (io.EOF) at the DataEnd frame. An Error frame ends it with
// the peer's *Error; any other frame, or the stream's end, is an error.
// Payloads are read straight into the caller's buffer.
type DataReader struct {
	r    io.Reader
	hdr  [headerLen]byte
	left uint32 // bytes of the current Data frame still to read
	err  error
}

// NewDataReader reads a data stream from r.
func NewDataReader(r io.Reader) *DataReader { return &DataReader{r: r} }

func (d *DataReader) Read(p []byte) (int, error) {
	for d.left == 0 {
		if d.err != nil {
			return 0, d.err
		}
		d.err = d.next()
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := d.r.Read(p[:min(uint32(len(p)), d.left)])
	d.left -= uint32(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		d.err = fmt.Errorf("read data frame payload: %w", err)
		if n == 0 {
			return 0, d.err
		}
	}
	return n, nil
}

// next reads the next frame's header: a Data frame's payload is then
// left to Read; anything else ends the stream with the error it means.
func (d *DataReader) next() error {
	if _, err := io.ReadFull(d.r, d.hdr[:]); err != nil {
		if err == io.EOF {
			return ErrDataCut
		}
		return fmt.Errorf("read data frame: %w", err)
	}
	t, n, err := parseHeader(d.hdr, MaxPayload)
	if err != nil {
		return err
	}
	if t == TypeData {
		d.left = uint32(n)
		return nil
	}
	payload, err := readPayload(d.r, n)
	if err != nil {
		return fmt.Errorf("read %s frame payload: %w", t, err)
	}
	switch t {
	case TypeDataEnd:
		return io.EOF
	case TypeError:
		var e Error
		if err := (Frame{Type: t, Payload: payload}).Decode(&e); err != nil {
			return err
		}
		return &e
	}
	return fmt.Errorf("unexpected %s frame in a data stream", t)
}

// DataWriter writes a byte stream to w as Data frames of DataChunk
// bytes (the last may be shorter), gathering small writes into full
// frames; Close sends what is left and DataEnd. Bytes are copied once,
// into the frame being filled.
type DataWriter struct {
	w   io.Writer
	buf []byte // header, then up to DataChunk bytes of payload
}

// NewDataWriter writes a data stream to w.
func NewDataWriter(w io.Writer) *DataWriter {
	return &DataWriter{w: w, buf: make([]byte, headerLen, headerLen+DataChunk)}
}

func (d *DataWriter) Write(p []byte) (int, error) {
	n := 0
	// Whole frames of a large write go out from p itself, header first:
	// one copy less (a stream has one writer, so the two writes cannot
	// be split by another frame).
	for len(d.buf) == headerLen && len(p) >= DataChunk {
		var hdr [headerLen]byte
		hdr[0] = byte(TypeData)
		binary.BigEndian.PutUint32(hdr[1:], DataChunk)
		if _, err := d.w.Write(hdr[:]); err != nil {
			return n, err
		}
		if _, err := d.w.Write(p[:DataChunk]); err != nil {
			return n, err
		}
		n += DataChunk
		p = p[DataChunk:]
	}
	for len(p) > 0 {
		c := min(len(p), cap(d.buf)-len(d.buf))
		d.buf = append(d.buf, p[:c]...)
		n += c
		p = p[c:]
		if len(d.buf) == cap(d.buf) {
			if err := d.Flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// Flush sends the frame being filled, if it holds anything.
func (d *DataWriter) Flush() error {
	if len(d.buf) == headerLen {
		return nil
	}
	d.buf[0] = byte(TypeData)
	binary.BigEndian.PutUint32(d.buf[1:], uint32(len(d.buf)-headerLen))
	_, err := d.w.Write(d.buf)
	d.buf = d.buf[:headerLen]
	return err
}

// Close sends what is buffered and ends the data stream.
func (d *DataWriter) Close() error {
	if err := d.Flush(); err != nil {
		return err
	}
	return WriteFrame(d.w, TypeDataEnd, nil)
}
