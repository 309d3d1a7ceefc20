"""The fetch proxy, `POST /proxy`: how a tool package that the user granted network reaches another
origin. The page's Content-Security-Policy never grows at run time, so the page-side host checks
the user's grant and sends the request here, on the page's own origin; the proxy checks the
operator's allow-list and the grant again on every hop, refuses private addresses, follows
redirects itself and caps sizes and time (docs/serving.md, "Fetch proxy")."""

from .config import FetchConfig, load_fetch_config
from .errors import ProxyError
from .route import FetchProxy

__all__ = ["FetchConfig", "FetchProxy", "ProxyError", "load_fetch_config"]
