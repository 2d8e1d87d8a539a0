package atlas

// PaymentsService records customer payments.
type PaymentsService service
