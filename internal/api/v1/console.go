package v1

import "time"

// ConsoleSettings says where the web console is served.
type ConsoleSettings struct {
	// Enabled is false when the daemon serves no console.
	Enabled bool `json:"enabled"`
	// URL is the console's address, e.g. http://127.0.0.1:4567.
	URL string `json:"url,omitempty"`
}

// ConsoleLinkRequest asks for a one-time sign-in link.
type ConsoleLinkRequest struct {
	// User is the console user to sign in as ("" for the default user).
	User string `json:"user,omitempty"`
	// TTLSeconds is how long the link works (0: 15 minutes).
	TTLSeconds int `json:"ttlSeconds,omitempty"`
}

// ConsoleLink is a one-time sign-in link to the web console.
type ConsoleLink struct {
	URL     string    `json:"url"`
	User    string    `json:"user"`
	Expires time.Time `json:"expires"`
}
