"""Annual targets (年度目标) and the progress the records make towards them."""
