package importer

func argoApplicationSet(o *object, res *Result) {
	res.refuse(o.ref(), "ApplicationSet is not convertible yet")
}
