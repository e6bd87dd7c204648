package controller

// NewAppQueue is newAppQueue for the tests of package controller_test.
var NewAppQueue = newAppQueue
