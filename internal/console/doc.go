// Package console serves madang's web console: server-rendered pages
// enhanced by one script and one stylesheet, built from web/ and embedded
// from assets/ (see AssetFS).
package console
