"""Posts DTMS state changes and actions to a webhook (see ``notify_webhook.plugin``)."""
