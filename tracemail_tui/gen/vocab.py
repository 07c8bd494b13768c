"""Word lists the synthetic world is built from (names, subjects, clients, viruses)."""

from __future__ import annotations

FIRST = (
    "mario anna luca giulia marco sara paolo laura andrea elena francesco chiara davide "
    "martina alice bob carol dave erin frank gina henry ivan julia karl lena max nina oscar "
    "petra quentin rosa sven tina ugo vera walter xenia yusuf zoe jean marie pierre sophie "
    "hans greta jan eva lucas emma noah mia liam olivia ahmed fatima wei mei hiro yuki "
    "pablo lucia diego carmen igor olga piotr agnieszka"
).split()
LAST = (
    "rossi bianchi ferrari esposito romano colombo ricci marino greco bruno gallo conti "
    "costa fontana moretti barbieri lombardi smith jones brown miller wilson taylor "
    "mueller schmidt schneider fischer weber meyer wagner martin bernard dubois durand "
    "garcia lopez martinez sanchez novak kowalski nowak tanaka suzuki chen wang kim"
).split()
ROLES = "info sales office admin billing support hr contact orders booking press jobs".split()
WORDS = (
    "alpha blue bright cedar delta eagle fern forest golden green harbor iron lake "
    "maple nova north oak ocean pine prime rapid river rock silver solar stone summit "
    "sun swift terra tiger urban valley vista west wind zenith studio legal dental "
    "motors design foods travel energy media consult build print farm wine garden"
).split()
TLDS = ("example", "test", "example.com", "example.org")
EXT_TLDS = ("test", "example", "invalid")

PLAIN_SUBJECTS = (
    "Invoice {n}",
    "Meeting on {day}",
    "Re: project update",
    "Fwd: contract draft v{d}",
    "Your order #{n} has shipped",
    "Quarterly report Q{q}",
    "Lunch {day}?",
    "Re: Re: budget {y}",
    "Password reset request",
    "Weekly newsletter #{d}{d}",
    "Holiday schedule",
    "Minutes of the board meeting",
    "Request for quotation {n}",
    "Payment confirmation {n}",
    "Delivery notice",
    "Re: your application",
    "Team offsite {day}",
    "Reminder: appointment on {day}",
    "New login to your account",
    "Price list {y}",
    "Ticket #{n} updated",
    "Welcome aboard!",
    "Photos from {day}",
    "Re: question about invoice {y}-{d}{d}{d}",
    "Shipping delayed",
    "Call notes",
)
UTF8_SUBJECTS = (
    "Grüße aus Köln – Angebot für Q{q} ✉",
    "Réunion de lundi à {d}h",
    "Café ☕ {day}?",
    "Ümlaut-Test: Größe {n}",
    "Привет, отчёт №{n}",
    "お見積もりの件 {n}",
    "Ofertă specială ✔",
    "Lunch? 🍕",
    "Año nuevo {y} – ¡felicidades!",
    "Señal de vida",
)
HOSTILE_SUBJECTS = (
    "[bold red]URGENT[/] \x1b[31mred alert\x1b[0m \x1b]0;pwned\x07 <script>x</script>",
    "=cmd|' /C calc'!A0 invoice",
    "[link=https://evil.example]click[/link] \u202egnp.exe",
    "\x1b[2J\x1b[Hscreen cleared",
)
LIST_NAMES = ("partner-announce", "dev", "users", "security", "events")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SPAM_SUBJECTS = (
    "Cheap meds - limited offer",
    "You have WON!!!",
    "Make $$$ from home",
    "Hot singles in your area",
    "Your account will be suspended",
    "Crypto x100 guaranteed",
)
FOLDERS = ("Work", "News", "Lists", "Invoices", "Family", "Archive")

IMAP_CLIENTS = (
    "name=Thunderbird, version=128.5.0",
    "name=Microsoft Outlook, version=16.0.17928.20114, os=Windows, os-version=10.0",
    "name=iPhone Mail, version=21E236",
    "name=Mac OS X Mail, version=16.0-3774.300.61.1.2",
    "name=K-9 Mail, version=6.802",
    "name=FairEmail, version=1.2245",
    "name=Evolution, version=3.46.4",
    "name=com.google.android.gm, version=2024.11",
)
VIRUSES = (
    "Win.Trojan.Agent-1234567",
    "Doc.Dropper.Agent-7654321",
    "Eicar-Signature",
    "Html.Phishing.Bank-112233",
    "Win.Malware.Emotet-9876543",
)
HELO_SUFFIX = ("mail", "smtp", "mx", "out", "mta1", "relay")
