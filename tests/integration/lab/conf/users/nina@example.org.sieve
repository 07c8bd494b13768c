# nina: invoices go to "Invoices", a folder she has deleted. Mailboxes are not created on
# delivery for her (lda_mailbox_autocreate=no, Dovecot's default), so the fileinto fails
# and Pigeonhole keeps the message in INBOX instead.
require ["fileinto"];
if header :contains "Subject" "invoice" {
  fileinto "Invoices";
}
