package atlas

// InvoicesService manages sales invoices.
type InvoicesService service
