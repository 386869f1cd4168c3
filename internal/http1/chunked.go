package http1

import "errors"

// ErrBadChunk is invalid chunked framing.
var ErrBadChunk = errors.New("invalid chunked encoding")

// Limits on chunked framing lines.
const (
	maxChunkLine   = 4 << 10
	maxTrailerSize = 16 << 10
)

// Chunk scanner states.
const (
	csSize = iota
	csExt
	csSizeLF
	csData
	csDataCR
	csDataLF
	csTrailerStart
	csTrailerLine
	csTrailerLF
	csEndLF
	csDone
)

// ChunkScanner follows chunked framing over a byte stream without
// changing it, so a validated body can be passed on verbatim and the end
// of the message is known. It is strict: CRLF line endings only, hex
// sizes of at most 15 digits.
type ChunkScanner struct {
	state   int
	size    int64
	digits  int
	remain  int64
	lineLen int
	trailer int
}

// Reset prepares s for the next body.
func (s *ChunkScanner) Reset() { *s = ChunkScanner{} }

// Done reports whether the whole body, trailers included, was scanned.
func (s *ChunkScanner) Done() bool { return s.state == csDone }

// Scan consumes the bytes of b that belong to the body and returns how
// many; it stops at the end of the body. Use ScanData to decode.
func (s *ChunkScanner) Scan(b []byte) (int, error) {
	return s.ScanData(b, nil)
}

// ScanData is scan that also hands each run of chunk data to data.
func (s *ChunkScanner) ScanData(b []byte, data func([]byte) error) (int, error) {
	i := 0
	for i < len(b) {
		c := b[i]
		switch s.state {
		case csSize:
			v := unhex(c)
			switch {
			case v >= 0:
				if s.digits == 15 {
					return i, ErrBadChunk
				}
				s.size = s.size<<4 | int64(v)
				s.digits++
			case c == ';' && s.digits > 0:
				s.state = csExt
			case c == '\r' && s.digits > 0:
				s.state = csSizeLF
			default:
				return i, ErrBadChunk
			}
			s.lineLen++
		case csExt:
			switch {
			case c == '\r':
				s.state = csSizeLF
			case c == '\n' || (c < ' ' && c != '\t') || c == 0x7f:
				return i, ErrBadChunk
			}
			s.lineLen++
			if s.lineLen > maxChunkLine {
				return i, ErrBadChunk
			}
		case csSizeLF:
			if c != '\n' {
				return i, ErrBadChunk
			}
			s.lineLen = 0
			s.digits = 0
			if s.size == 0 {
				s.state = csTrailerStart
			} else {
				s.remain = s.size
				s.size = 0
				s.state = csData
			}
		case csData:
			n := int64(len(b) - i)
			if n > s.remain {
				n = s.remain
			}
			if data != nil {
				if err := data(b[i : i+int(n)]); err != nil {
					return i, err
				}
			}
			i += int(n)
			s.remain -= n
			if s.remain == 0 {
				s.state = csDataCR
			}
			continue
		case csDataCR:
			if c != '\r' {
				return i, ErrBadChunk
			}
			s.state = csDataLF
		case csDataLF:
			if c != '\n' {
				return i, ErrBadChunk
			}
			s.state = csSize
		case csTrailerStart:
			if c == '\r' {
				s.state = csEndLF
			} else {
				if c == '\n' || c == ' ' || c == '\t' {
					return i, ErrBadChunk
				}
				s.state = csTrailerLine
			}
			s.trailer++
		case csTrailerLine:
			if c == '\r' {
				s.state = csTrailerLF
			} else if c == '\n' || c == 0 {
				return i, ErrBadChunk
			}
			s.trailer++
			if s.trailer > maxTrailerSize {
				return i, ErrBadChunk
			}
		case csTrailerLF:
			if c != '\n' {
				return i, ErrBadChunk
			}
			s.state = csTrailerStart
		case csEndLF:
			if c != '\n' {
				return i, ErrBadChunk
			}
			s.state = csDone
			return i + 1, nil
		case csDone:
			return i, nil
		}
		i++
	}
	return i, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
