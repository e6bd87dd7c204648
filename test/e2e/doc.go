// Package e2e holds Flotilla's end-to-end tests: the flotilla binary, built
// once by TestMain, run as a user would against real local clusters.
package e2e
