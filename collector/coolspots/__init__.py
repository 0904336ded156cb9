"""Cool spots and cooling shelters: the registry (指定暑熱避難施設, 暑熱避難協力施設, cool
spots), imports of municipal lists and of the Ministry of the Environment's alerts and WBGT
forecasts, operators' tasks, and the API for spots, routes and modelled shade."""
