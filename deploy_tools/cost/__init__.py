"""What each environment costs per million predictions, from its configuration and AWS's
published on-demand prices kept as data (``prices.yaml``, each price with its page and date).

``price_environment(settings, assumptions)`` prices one environment; ``python -m
deploy_tools.cost`` prints the table. A hosting kind is priced by the pricer registered for
its variant class (``deploy_tools.cost.hosting.PRICERS``); Lambda is priced generically
(``deploy_tools.cost.lambda_cost``)."""

from deploy_tools.cost.environment import price_environment
from deploy_tools.cost.lines import Assumptions, EnvironmentCost, LineItem
from deploy_tools.cost.price_book import PriceBook, UnpricedError, load_price_book

__all__ = [
    "Assumptions",
    "EnvironmentCost",
    "LineItem",
    "PriceBook",
    "UnpricedError",
    "load_price_book",
    "price_environment",
]
