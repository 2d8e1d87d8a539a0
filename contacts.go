package atlas

// CustomersService manages customers.
type CustomersService service

// VendorsService manages vendors.
type VendorsService service
