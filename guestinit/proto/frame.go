package proto

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Type says what a frame holds.
type Type uint8

// Frame types. Values are part of the wire format: append, never renumber.
const (
	TypeHello Type = iota + 1
	TypeSetup
	TypeAck
	TypeError
	TypeExec
	TypeStarted
	TypeStdin
	TypeStdinClose
	TypeStdout
	TypeStderr
	TypeSignal
	TypeExit
	TypeShutdown
	TypeResize
	TypeProcRequest
	TypeProcData
	// TypeNetwork carries a Network message on the control stream.
	TypeNetwork
	// TypeDNSQuery opens a stream the guest starts: one DNS message from
	// a process in the box. The host answers TypeDNSReply, one DNS
	// message, and the stream ends.
	TypeDNSQuery
	TypeDNSReply
	TypeFSRequest
	TypeFSInfo
	TypeData
	TypeDataEnd
	// TypeFreeze carries a Freeze message on the control stream.
	TypeFreeze
	typeEnd // one past the last valid type
)

var typeNames = [...]string{
	TypeHello: "hello", TypeSetup: "setup", TypeAck: "ack", TypeError: "error",
	TypeExec: "exec", TypeStarted: "started", TypeStdin: "stdin",
	TypeStdinClose: "stdin-close", TypeStdout: "stdout", TypeStderr: "stderr",
	TypeSignal: "signal", TypeExit: "exit", TypeShutdown: "shutdown",
	TypeResize: "resize", TypeProcRequest: "proc-request", TypeProcData: "proc-data",
	TypeNetwork: "network", TypeDNSQuery: "dns-query", TypeDNSReply: "dns-reply",
	TypeFSRequest: "fs-request", TypeFSInfo: "fs-info",
	TypeData: "data", TypeDataEnd: "data-end", TypeFreeze: "freeze",
}

func (t Type) String() string {
	if t > 0 && t < typeEnd {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Frame limits. A reader refuses a frame whose length field is over its
// type's limit before reading any of it, and grows the payload only as
// its bytes arrive (readPayload), so a length field alone never makes
// either end allocate: a hostile guest that sends headers and no data
// costs the host nothing beyond the stream's yamux window.
const (
	// MaxPayload bounds a bulk frame: a Data chunk of a file tree, a
	// ProcData part, and the host's requests that carry a box's
	// configuration (Exec's arguments and environment, Setup, Network,
	// FSRequest, ProcRequest).
	MaxPayload = 1 << 20
	// MaxControlPayload bounds every other frame: handshakes, answers
	// and errors, process output and input (proto.CopyChunk per frame),
	// signals, and one DNS message (at most 65535 bytes).
	MaxControlPayload = 64 << 10
)

const headerLen = 5

// Errors a caller may act on.
var (
	ErrFrameTooLarge = errors.New("frame too large")
	ErrUnknownType   = errors.New("unknown frame type")
)

// Limit is the largest payload a frame of type t may carry.
func (t Type) Limit() int {
	switch t {
	case TypeData, TypeProcData, TypeExec, TypeSetup, TypeNetwork, TypeFSRequest, TypeProcRequest:
		return MaxPayload
	}
	return MaxControlPayload
}

// Frame is one decoded frame.
type Frame struct {
	Type    Type
	Payload []byte
}

// WriteFrame writes one frame in a single Write, so concurrent writers on a
// stream guarded by a mutex never interleave partial frames.
func WriteFrame(w io.Writer, t Type, payload []byte) error {
	if len(payload) > t.Limit() {
		return fmt.Errorf("write %s frame: %w (%d bytes, at most %d)", t, ErrFrameTooLarge, len(payload), t.Limit())
	}
	buf := make([]byte, headerLen+len(payload))
	buf[0] = byte(t)
	binary.BigEndian.PutUint32(buf[1:], uint32(len(payload)))
	copy(buf[headerLen:], payload)
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads one frame of at most its type's limit. It returns
// io.EOF only when the stream ends cleanly between frames.
func ReadFrame(r io.Reader) (Frame, error) { return ReadFrameLimit(r, MaxPayload) }

// ReadFrameLimit reads one frame as ReadFrame does, refusing one whose
// payload is over limit whatever its type: a stream whose every
// legitimate frame is small (the control stream, a process's, a DNS
// query's) reads with MaxControlPayload, so a peer cannot make it hold
// a bulk frame.
func ReadFrameLimit(r io.Reader, limit int) (Frame, error) {
	var hdr [headerLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return Frame{}, fmt.Errorf("read frame header: %w", err)
		}
		return Frame{}, err
	}
	t, n, err := parseHeader(hdr, limit)
	if err != nil {
		return Frame{}, err
	}
	p, err := readPayload(r, n)
	if err != nil {
		return Frame{}, fmt.Errorf("read %s frame payload: %w", t, err)
	}
	return Frame{Type: t, Payload: p}, nil
}

// parseHeader checks a frame header against its type's limit and limit.
func parseHeader(hdr [headerLen]byte, limit int) (Type, int, error) {
	t := Type(hdr[0])
	if t == 0 || t >= typeEnd {
		return 0, 0, fmt.Errorf("read frame: %w %d", ErrUnknownType, hdr[0])
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if limit = min(limit, t.Limit()); uint64(n) > uint64(limit) {
		return 0, 0, fmt.Errorf("read %s frame: %w (%d bytes, at most %d)", t, ErrFrameTooLarge, n, limit)
	}
	return t, int(n), nil
}

// payloadStep is the first allocation for a payload: the buffer then
// doubles only when what arrived has filled it.
const payloadStep = 16 << 10

// readPayload reads n bytes from r into a buffer that grows as they
// arrive, so that memory follows the bytes received rather than the
// length a peer announced (at most twice them, and never over n).
func readPayload(r io.Reader, n int) ([]byte, error) {
	p := make([]byte, 0, min(n, payloadStep))
	for len(p) < n {
		if len(p) == cap(p) {
			p = slices.Grow(p, min(n-len(p), len(p)))
		}
		m, err := r.Read(p[len(p):min(cap(p), n)])
		p = p[:len(p)+m]
		if err != nil && len(p) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return p, nil
}

// messageType maps each control message to its frame type.
func messageType(m any) (Type, error) {
	switch m.(type) {
	case *Hello:
		return TypeHello, nil
	case *Setup:
		return TypeSetup, nil
	case *Ack:
		return TypeAck, nil
	case *Error:
		return TypeError, nil
	case *Exec:
		return TypeExec, nil
	case *Started:
		return TypeStarted, nil
	case *Signal:
		return TypeSignal, nil
	case *Exit:
		return TypeExit, nil
	case *Resize:
		return TypeResize, nil
	case *Shutdown:
		return TypeShutdown, nil
	case *ProcRequest:
		return TypeProcRequest, nil
	case *ProcData:
		return TypeProcData, nil
	case *Network:
		return TypeNetwork, nil
	case *FSRequest:
		return TypeFSRequest, nil
	case *FSInfo:
		return TypeFSInfo, nil
	case *Freeze:
		return TypeFreeze, nil
	}
	return 0, fmt.Errorf("%T is not a protocol message", m)
}

// WriteMessage encodes a control message as a JSON frame.
func WriteMessage(w io.Writer, m any) error {
	t, err := messageType(m)
	if err != nil {
		return err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", t, err)
	}
	return WriteFrame(w, t, b)
}

// Decode decodes the frame's JSON payload into m, which must be the
// message type matching the frame's type.
func (f Frame) Decode(m any) error {
	t, err := messageType(m)
	if err != nil {
		return err
	}
	if t != f.Type {
		if f.Type == TypeError && t != TypeError {
			var e Error
			if err := json.Unmarshal(f.Payload, &e); err == nil {
				return &e
			}
		}
		return fmt.Errorf("got %s frame, want %s", f.Type, t)
	}
	if err := json.Unmarshal(f.Payload, m); err != nil {
		return fmt.Errorf("decode %s: %w", t, err)
	}
	return nil
}

// ReadMessage reads one frame and decodes it into m. An Error frame from the
// peer comes back as a *Error.
// It reads no frame over the limit of m's type or an Error's, whichever
// is larger: what else could come is refused unread.
func ReadMessage(r io.Reader, m any) error {
	t, err := messageType(m)
	if err != nil {
		return err
	}
	f, err := ReadFrameLimit(r, max(t.Limit(), TypeError.Limit()))
	if err != nil {
		return err
	}
	return f.Decode(m)
}
