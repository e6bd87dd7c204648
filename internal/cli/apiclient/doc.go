// Package apiclient is the CLI's client of Flotilla's REST API (docs/api.md).
// It speaks the wire types and the API's resources, sends the session token
// as a bearer token, bounds what it reads from the server, and turns the
// API's {code, message} errors into an *Error that commands can test with
// errors.Is against ErrNotFound, ErrUnauthenticated and the others. A token
// is never part of an error, a log line or anything the client returns.
package apiclient
