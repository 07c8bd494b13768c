# mia: everything is forwarded to an old address the remote no longer accepts
redirect "reject.mia@partner.test";
