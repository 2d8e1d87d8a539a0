package atlas

import (
	"context"
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"
)

// ReportsService computes financial statements from what has been posted.
type ReportsService service

// ProfitLossParams choose the period of Reports.ProfitLoss, PeriodStart to
// PeriodEnd inclusive. Both are required.
type ProfitLossParams struct {
	PeriodStart Date `url:"period_start"`
	PeriodEnd   Date `url:"period_end"`
}

func (p *ProfitLossParams) check() error {
	if err := checkDate("period_start", p.PeriodStart); err != nil {
		return err
	}
	return checkDate("period_end", p.PeriodEnd)
}

// BalanceSheetParams choose the date of Reports.BalanceSheet, which takes the
// balances at the end of AsOfDate. AsOfDate is required.
type BalanceSheetParams struct {
	AsOfDate Date `url:"as_of_date"`
}

func (p *BalanceSheetParams) check() error {
	return checkDate("as_of_date", p.AsOfDate)
}

// ProfitLossReport is an income statement for a period: categories of
// sections of accounts, each with its total.
type ProfitLossReport struct {
	CompanyID   string `json:"company_id"`
	PeriodStart Date   `json:"period_start"`
	PeriodEnd   Date   `json:"period_end"`
	Currency    string `json:"currency"`
	// GeneratedAt is when the report was generated. The contract calls it
	// ISO 8601 rather than RFC 3339: the common ISO 8601 forms are read (a
	// time without a zone as UTC), and one that cannot be read leaves the
	// zero time rather than failing the report.
	GeneratedAt time.Time          `json:"generated_at"`
	Revenue     ProfitLossCategory `json:"revenue"`
	// CostOfGoodsSold is nil when the company has no cost-of-goods-sold accounts.
	CostOfGoodsSold *ProfitLossCategory `json:"cost_of_goods_sold"`
	// GrossProfit is revenue minus cost of goods sold, nil when CostOfGoodsSold is nil.
	GrossProfit       *decimal.Decimal   `json:"gross_profit"`
	OperatingExpenses ProfitLossCategory `json:"operating_expenses"`
	NetIncome         decimal.Decimal    `json:"net_income"`
}

// ProfitLossCategory is a top-level part of a profit and loss statement,
// such as revenue or operating expenses.
type ProfitLossCategory struct {
	Name     string              `json:"name"`
	Sections []ProfitLossSection `json:"sections"`
	Total    decimal.Decimal     `json:"total"`
}

// ProfitLossSection groups the accounts of a category.
type ProfitLossSection struct {
	Name     string           `json:"name"`
	Items    []ProfitLossItem `json:"items"`
	Subtotal decimal.Decimal  `json:"subtotal"`
}

// ProfitLossItem is one account's amount for the period.
type ProfitLossItem struct {
	AccountID     string          `json:"account_id"`
	AccountNumber string          `json:"account_number"`
	AccountName   string          `json:"account_name"`
	Amount        decimal.Decimal `json:"amount"`
}

// BalanceSheetReport is a balance sheet at the end of a date: assets,
// liabilities and equity, each a category of sections of accounts.
type BalanceSheetReport struct {
	CompanyID string `json:"company_id"`
	AsOfDate  Date   `json:"as_of_date"`
	Currency  string `json:"currency"`
	// GeneratedAt is when the report was generated. The contract calls it
	// ISO 8601 rather than RFC 3339: the common ISO 8601 forms are read (a
	// time without a zone as UTC), and one that cannot be read leaves the
	// zero time rather than failing the report.
	GeneratedAt               time.Time            `json:"generated_at"`
	Assets                    BalanceSheetCategory `json:"assets"`
	Liabilities               BalanceSheetCategory `json:"liabilities"`
	Equity                    BalanceSheetCategory `json:"equity"`
	TotalAssets               decimal.Decimal      `json:"total_assets"`
	TotalLiabilitiesAndEquity decimal.Decimal      `json:"total_liabilities_and_equity"`
	// IsBalanced is the server's word that TotalAssets equals
	// TotalLiabilitiesAndEquity.
	IsBalanced bool `json:"is_balanced"`
}

// BalanceSheetCategory is assets, liabilities or equity.
type BalanceSheetCategory struct {
	Name     string                `json:"name"`
	Sections []BalanceSheetSection `json:"sections"`
	Total    decimal.Decimal       `json:"total"`
}

// BalanceSheetSection groups the accounts of a category.
type BalanceSheetSection struct {
	Name     string             `json:"name"`
	Items    []BalanceSheetItem `json:"items"`
	Subtotal decimal.Decimal    `json:"subtotal"`
}

// BalanceSheetItem is one account's balance at the report's date.
type BalanceSheetItem struct {
	AccountID     string          `json:"account_id"`
	AccountNumber string          `json:"account_number"`
	AccountName   string          `json:"account_name"`
	Balance       decimal.Decimal `json:"balance"`
}

// ProfitLoss returns the profit and loss statement for the period params
// gives. Params without both dates are refused before any request.
//
// API: GET /reports/profit-loss
func (s *ReportsService) ProfitLoss(ctx context.Context, params *ProfitLossParams, opts ...RequestOption) (*ProfitLossReport, error) {
	return report[ProfitLossReport](ctx, s.client, "Reports.ProfitLoss", "/reports/profit-loss", params, opts)
}

// BalanceSheet returns the balance sheet at the end of params.AsOfDate.
// Params without the date are refused before any request.
//
// API: GET /reports/balance-sheet
func (s *ReportsService) BalanceSheet(ctx context.Context, params *BalanceSheetParams, opts ...RequestOption) (*BalanceSheetReport, error) {
	return report[BalanceSheetReport](ctx, s.client, "Reports.BalanceSheet", "/reports/balance-sheet", params, opts)
}

// UnmarshalJSON decodes a profit and loss statement, reading generated_at as
// ISO 8601.
func (r *ProfitLossReport) UnmarshalJSON(b []byte) error {
	type plain ProfitLossReport
	aux := struct {
		*plain
		GeneratedAt isoTime `json:"generated_at"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	r.GeneratedAt = time.Time(aux.GeneratedAt)
	return nil
}

// UnmarshalJSON decodes a balance sheet, reading generated_at as ISO 8601.
func (r *BalanceSheetReport) UnmarshalJSON(b []byte) error {
	type plain BalanceSheetReport
	aux := struct {
		*plain
		GeneratedAt isoTime `json:"generated_at"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	r.GeneratedAt = time.Time(aux.GeneratedAt)
	return nil
}
