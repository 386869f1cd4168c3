package http1

import "bytes"

// Response is a parsed response head. Its slices point into the head
// passed to ParseResponse.
type Response struct {
	Status     int
	StatusLine []byte // "200 OK"
	Minor      int    // HTTP/1.minor
	Headers    []Header
	// ContentLength is -1 when absent or when the body is chunked; a
	// response with neither (and not Bodyless) ends when the connection
	// closes.
	ContentLength int64
	Chunked       bool
	// Close means the connection closes after this response.
	Close      bool
	SetsCookie bool // sets the cookie named in ParseResponse's appCookie
}

// Reset prepares r for the next response, keeping its Headers buffer.
func (r *Response) Reset() {
	h := r.Headers[:0]
	*r = Response{Headers: h, ContentLength: -1}
}

// ParseResponse parses a response head ending with "\r\n\r\n". appCookie,
// when set, is the cookie name whose Set-Cookie the caller wants to know
// about.
func ParseResponse(r *Response, head []byte, appCookie string) bool {
	i := bytes.IndexByte(head, '\n')
	if i < 1 || head[i-1] != '\r' {
		return false
	}
	line := head[:i-1]
	rest := head[i+1:]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return false
	}
	switch line[7] {
	case '0':
		r.Minor = 0
		r.Close = true
	case '1':
		r.Minor = 1
	default:
		return false
	}
	code := line[9:12]
	if code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' {
		return false
	}
	if len(line) > 12 && line[12] != ' ' {
		return false
	}
	r.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	r.StatusLine = line[9:]
	var clVal []byte
	keepAlive := false
	for len(rest) > 2 {
		j := bytes.IndexByte(rest, '\n')
		if j < 1 || rest[j-1] != '\r' {
			return false
		}
		hl := rest[:j-1]
		rest = rest[j+1:]
		if hl[0] == ' ' || hl[0] == '\t' {
			return false
		}
		colon := bytes.IndexByte(hl, ':')
		if colon <= 0 {
			return false
		}
		name := hl[:colon]
		for _, c := range name {
			if !tokenTable[c] {
				return false
			}
		}
		value := trimOWS(hl[colon+1:])
		h := Header{Name: name, Value: value, ID: identify(name)}
		switch h.ID {
		case FieldContentLength:
			if clVal != nil && !bytes.Equal(clVal, value) {
				return false
			}
			if clVal != nil {
				h.Drop = true
			}
			clVal = value
		case FieldTransferEncoding:
			v := trimOWS(value)
			if !LowerEq(v, "chunked") {
				// Other codings end with chunked or are close-delimited.
				if len(v) >= 7 && LowerEq(v[len(v)-7:], "chunked") {
					r.Chunked = true
				} else {
					r.Close = true
				}
			} else {
				r.Chunked = true
			}
		case FieldConnection:
			for _, tok := range bytes.Split(value, []byte(",")) {
				tok = trimOWS(tok)
				if LowerEq(tok, "close") {
					r.Close = true
				} else if LowerEq(tok, "keep-alive") {
					keepAlive = true
				}
			}
		case FieldSetCookie:
			if appCookie != "" && len(value) > len(appCookie) && string(value[:len(appCookie)]) == appCookie && value[len(appCookie)] == '=' {
				r.SetsCookie = true
			}
		}
		r.Headers = append(r.Headers, h)
	}
	if r.Minor == 0 && keepAlive {
		r.Close = false
	}
	if clVal != nil && !r.Chunked {
		n, ok := parseContentLength(clVal)
		if !ok {
			return false
		}
		r.ContentLength = n
	}
	return true
}

// Bodyless reports whether a response to method with this status has no
// body regardless of its headers.
func (r *Response) Bodyless(head bool) bool {
	return head || r.Status == 204 || r.Status == 304 || (r.Status >= 100 && r.Status < 200)
}
