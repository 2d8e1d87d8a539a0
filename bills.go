package atlas

// BillsService manages vendor bills.
type BillsService service
